package compress

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func buildText(t testing.TB, inst string) (*Filter, error) {
	t.Helper()
	c, err := config.Parse("h.yaml", []byte("middleware:\n  h: "+inst+"\n"))
	if err != nil {
		return nil, err
	}
	f, err := filter.Build(c.Middleware["h"])
	if err != nil {
		return nil, err
	}
	return f.(*Filter), nil
}

func mustBuild(t testing.TB, inst string) *Filter {
	t.Helper()
	f, err := buildText(t, inst)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCompressConfigErrors(t *testing.T) {
	cases := []struct{ inst, want string }{
		{"{type: compress, encodings: [gzip, deflate]}", `h.yaml:2:34: middleware.h.encodings: "deflate" is not a coding this gateway writes (gzip, br, zstd)`},
		{"{type: compress, encodings: [gzip, GZIP]}", `"GZIP" is listed twice (item 2)`},
		{"{type: compress, content_types: [json]}", `h.yaml:2:38: middleware.h.content_types: "json": want "type/subtype"`},
		{"{type: compress, content_types: [\"*/*\"]}", `"*/*": want "type/subtype"`},
		{"{type: compress, content_types: [\"application/j*n\"]}", `subtype "j*n"`},
		{"{type: compress, level: {gzip: 10}}", "h.yaml:2:37: middleware.h.level.gzip: 10 is out of range (1 to 9)"},
		{"{type: compress, level: {br: 12, zstd: 0}}", "middleware.h.level.br: 12 is out of range (0 to 11)"},
		{"{type: compress, level: {zstd: 0}}", "middleware.h.level.zstd: 0 is out of range (1 to 22)"},
		{"{type: compress, level: {brotli: 4}}", `unknown field "brotli"`},
		{"{type: compress, min_size: lots}", `h.yaml:2:33: middleware.h: invalid size "lots"`},
		{"{type: compress, encoding: [gzip]}", `unknown field "encoding"`},
	}
	for _, tc := range cases {
		if _, err := buildText(t, tc.inst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want …%s…", tc.inst, err, tc.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	all := []coding{zstdCoding, brCoding, gzipCoding}
	cases := []struct {
		ae    []string // Accept-Encoding lines; nil: none
		offer []coding
		want  coding
	}{
		{nil, all, identity},
		{[]string{""}, all, identity},
		{[]string{"gzip"}, all, gzipCoding},
		{[]string{"x-gzip"}, all, gzipCoding},
		{[]string{"GZIP, BR"}, all, brCoding}, // a tie: the offer's order
		{[]string{"gzip, deflate, br, zstd"}, all, zstdCoding},
		{[]string{"gzip, deflate, br, zstd"}, []coding{gzipCoding, brCoding}, gzipCoding},
		{[]string{"gzip;q=1, br;q=0.9"}, all, gzipCoding},
		{[]string{"br;q=0.5, gzip;q=0.6, zstd;q=0.1"}, all, gzipCoding},
		{[]string{"*"}, all, zstdCoding},
		{[]string{"*;q=0.5, gzip"}, all, gzipCoding},
		{[]string{"*, zstd;q=0"}, all, brCoding},
		{[]string{"*;q=0"}, all, identity},
		{[]string{"gzip;q=0"}, all, identity},
		{[]string{"identity;q=0"}, all, identity}, // nothing acceptable: identity anyway
		{[]string{"identity;q=0, gzip;q=0.1"}, all, gzipCoding},
		{[]string{"deflate, compress"}, all, identity},
		{[]string{"gzip;q=2, br;q=abc"}, all, identity}, // weights that do not parse are ignored
		{[]string{"gzip;q=0.001"}, all, gzipCoding},
		{[]string{"gzip", "br"}, all, brCoding}, // two lines are one list
		{[]string{"zstd;q=0", "*"}, []coding{zstdCoding, gzipCoding}, gzipCoding},
		{[]string{"br"}, []coding{gzipCoding}, identity},
	}
	for _, tc := range cases {
		raw := "GET / HTTP/1.1\r\nHost: a\r\n"
		for _, l := range tc.ae {
			raw += "Accept-Encoding: " + l + "\r\n"
		}
		var req http1.Request
		if _, err := http1.ParseRequest([]byte(raw+"\r\n"), &req, nil); err != nil {
			t.Fatal(err)
		}
		if got := negotiate(&req, tc.offer); got != tc.want {
			t.Errorf("%q offer %v: got %s, want %s", tc.ae, tc.offer, codingNames[got], codingNames[tc.want])
		}
	}
}

// head is a response as the engine hands it to the response phase.
type head struct {
	method string
	status int
	local  bool
	hs     []string // "Name: value"
}

// run drives f through Request and ResponseHead as the engine does, for a
// request with Accept-Encoding ae, and returns the exchange after the
// response phase.
func run(t testing.TB, f *Filter, x *filter.Exchange, ae string, h head) {
	t.Helper()
	raw := h.method + " / HTTP/1.1\r\nHost: a\r\n"
	if ae != "" {
		raw += "Accept-Encoding: " + ae + "\r\n"
	}
	var req http1.Request
	if _, err := http1.ParseRequest([]byte(raw+"\r\n"), &req, nil); err != nil {
		t.Fatal(err)
	}
	x.Reset(nil)
	x.Req, x.Method = &req, req.Method
	c := filter.NewChain(f)
	c.Run(x, 0)
	x.Req = nil
	var hs []http1.Header
	for _, l := range h.hs {
		name, value, _ := strings.Cut(l, ": ")
		hs = append(hs, http1.Header{Name: []byte(name), Value: []byte(value)})
	}
	c.ResponseHead(x, 1, h.status, hs, h.local)
}

func TestCompressSkipRules(t *testing.T) {
	f := mustBuild(t, "{type: compress}")
	json := "Content-Type: application/json"
	cases := []struct {
		name string
		ae   string
		h    head
		want bool // compressed
		vary bool // Vary: Accept-Encoding added
	}{
		{"json 200", "gzip", head{"GET", 200, false, []string{json}}, true, true},
		{"json chunked", "gzip", head{"GET", 200, false, []string{json, "Transfer-Encoding: chunked"}}, true, true},
		{"json 201", "gzip", head{"POST", 201, false, []string{json}}, true, true},
		{"json 404", "gzip", head{"GET", 404, false, []string{json}}, true, true},
		{"json 503", "gzip", head{"GET", 503, false, []string{json}}, true, true},
		{"no accept-encoding", "", head{"GET", 200, false, []string{json}}, false, true},
		{"identity only", "identity", head{"GET", 200, false, []string{json}}, false, true},
		{"HEAD", "gzip", head{"HEAD", 200, false, []string{json, "Content-Length: 5000"}}, false, false},
		{"204", "gzip", head{"GET", 204, false, []string{json}}, false, false},
		{"206", "gzip", head{"GET", 206, false, []string{json, "Content-Range: bytes 0-9/5000"}}, false, false},
		{"304", "gzip", head{"GET", 304, false, []string{json}}, false, false},
		{"already encoded", "gzip", head{"GET", 200, false, []string{json, "Content-Encoding: br"}}, false, false},
		{"no-transform", "gzip", head{"GET", 200, false, []string{json, "Cache-Control: public, No-Transform"}}, false, false},
		{"small", "gzip", head{"GET", 200, false, []string{json, "Content-Length: 1023"}}, false, false},
		{"min size", "gzip", head{"GET", 200, false, []string{json, "Content-Length: 1024"}}, true, true},
		{"image", "gzip", head{"GET", 200, false, []string{"Content-Type: image/png"}}, false, false},
		{"no type", "gzip", head{"GET", 200, false, nil}, false, false},
		{"text/html", "gzip", head{"GET", 200, false, []string{"Content-Type: TEXT/HTML; charset=utf-8"}}, true, true},
		{"problem+json", "gzip", head{"GET", 400, false, []string{"Content-Type: application/problem+json"}}, true, true},
		{"svg", "gzip", head{"GET", 200, false, []string{"Content-Type: image/svg+xml"}}, true, true},
		{"javascript", "gzip", head{"GET", 200, false, []string{"Content-Type: application/javascript"}}, true, true},
		{"local answer", "gzip", head{"GET", 502, true, nil}, false, false},
	}
	var x filter.Exchange
	for _, tc := range cases {
		run(t, f, &x, tc.ae, tc.h)
		lines := string(x.ResponseHeaders())
		if got := x.Body().Active(); got != tc.want {
			t.Errorf("%s: compressed %v, want %v", tc.name, got, tc.want)
		}
		if got := strings.Contains(lines, "Content-Encoding: gzip\r\n"); got != tc.want {
			t.Errorf("%s: Content-Encoding %v in %q, want %v", tc.name, got, lines, tc.want)
		}
		if got := strings.Contains(lines, "Vary: Accept-Encoding\r\n"); got != tc.vary {
			t.Errorf("%s: Vary %v in %q, want %v", tc.name, got, lines, tc.vary)
		}
	}
}

func TestCompressHeaders(t *testing.T) {
	f := mustBuild(t, "{type: compress, content_types: [\"text/*\"]}")
	var x filter.Exchange
	for _, tc := range []struct {
		name string
		hs   []string
		want string // added lines
		gone []string
	}{
		{"vary merged", []string{"Content-Type: text/plain", "Vary: Origin", "vary: Accept-Language"},
			"Vary: Origin, Accept-Language, Accept-Encoding\r\nContent-Encoding: br\r\n", []string{"Vary"}},
		{"vary kept", []string{"Content-Type: text/plain", "Vary: accept-encoding, Origin"}, "Content-Encoding: br\r\n", nil},
		{"vary star", []string{"Content-Type: text/plain", "Vary: *"}, "Content-Encoding: br\r\n", nil},
		{"strong etag", []string{"Content-Type: text/plain", `ETag: "v1"`, "Accept-Ranges: bytes"},
			"Vary: Accept-Encoding\r\nContent-Encoding: br\r\nETag: W/\"v1\"\r\n", []string{"ETag", "Accept-Ranges"}},
		{"weak etag", []string{"Content-Type: text/plain", `ETag: W/"v1"`}, "Vary: Accept-Encoding\r\nContent-Encoding: br\r\n", nil},
	} {
		run(t, f, &x, "br", head{"GET", 200, false, tc.hs})
		if got := string(x.ResponseHeaders()); got != tc.want {
			t.Errorf("%s: added %q, want %q", tc.name, got, tc.want)
		}
		for _, g := range tc.gone {
			if !x.ResponseRemoved([]byte(g)) {
				t.Errorf("%s: %s not removed", tc.name, g)
			}
		}
	}
}

// TestCompressRoundTrip encodes the JSON body with each coding, run by
// run as the engine relays it, and decodes it back with a reference
// decoder; the transform is reused from the pool for the second body.
func TestCompressRoundTrip(t *testing.T) {
	body := jsonBody(t)
	for _, c := range []coding{gzipCoding, brCoding, zstdCoding} {
		e := newEncoders(c, levelOf(Levels{}, c))
		for round := range 2 {
			tr := e.get()
			var enc []byte
			for p := body; ; {
				n := min(len(p), 7000)
				out, err := tr.Transform(p[:n], n == len(p))
				if err != nil {
					t.Fatal(err)
				}
				enc = append(enc, out...)
				if p = p[n:]; len(p) == 0 {
					break
				}
			}
			tr.Release()
			if got := decodeBody(t, c, enc); !bytes.Equal(got, body) {
				t.Fatalf("%s round %d: decoded %d bytes, want the %d sent", codingNames[c], round, len(got), len(body))
			}
			if len(enc) > len(body)/3 {
				t.Errorf("%s: %d bytes encoded from %d", codingNames[c], len(enc), len(body))
			}
		}
	}
}

// decodeBody decodes body with a reference decoder for c.
func decodeBody(t testing.TB, c coding, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch c {
	case gzipCoding:
		z, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r = z
	case brCoding:
		r = brotli.NewReader(bytes.NewReader(body))
	case zstdCoding:
		z, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		r = z
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", codingNames[c], err)
	}
	return out
}

// TestCompressNoAllocs: the request and response phases, and encoding a
// body with a pooled encoder, allocate nothing in the steady state.
func TestCompressNoAllocs(t *testing.T) {
	f := mustBuild(t, "{type: compress}")
	body := jsonBody(t)
	var x filter.Exchange
	var req http1.Request
	raw := []byte("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n\r\n")
	hs := []http1.Header{
		{Name: []byte("Content-Type"), Value: []byte("application/json")},
		{Name: []byte("ETag"), Value: []byte(`"abc"`)},
		{Name: []byte("Vary"), Value: []byte("Origin")},
	}
	c := filter.NewChain(f)
	for _, ae := range []string{"gzip", "br", "zstd"} {
		raw := bytes.Replace(raw, []byte("gzip, deflate, br, zstd"), []byte(ae+"   "), 1)
		once := func() {
			if _, err := http1.ParseRequest(raw, &req, nil); err != nil {
				t.Fatal(err)
			}
			x.Reset(nil)
			x.Req, x.Method = &req, req.Method
			c.Run(&x, 0)
			c.ResponseHead(&x, 1, 200, hs, false)
			b := x.Body()
			if _, err := b.Transform(body[:16<<10], false); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Transform(body[16<<10:], true); err != nil {
				t.Fatal(err)
			}
			b.Release()
		}
		once()
		// klauspost/compress's zstd stream writer heap-allocates two
		// scratch arrays per frame (the frame header's and the checksum's:
		// they escape through io.Writer); the encoder itself is pooled.
		want := 0.0
		if ae == "zstd" {
			want = 2
		}
		if n := testing.AllocsPerRun(50, once); n != want && !raceEnabled {
			t.Errorf("%s: %v allocs per response, want %v", ae, n, want)
		}
	}
}

// replacer answers every upstream response locally (a later check of the
// response, say) from its ResponseHead.
type replacer struct{}

func (replacer) Request(*filter.Exchange) filter.Verdict { return filter.Continue }
func (replacer) ResponseHead(x *filter.Exchange, _ *filter.Response) filter.Verdict {
	return x.Reply(502, []byte("Content-Type: text/plain\r\n"), []byte("replaced\n"))
}

// TestCompressedResponseReplaced: compress decided first (it is later in
// route order), then an earlier filter replaced the response: the local
// answer carries no Content-Encoding, and the encoder went back.
func TestCompressedResponseReplaced(t *testing.T) {
	f := mustBuild(t, "{type: compress}")
	c := filter.NewChain(replacer{}, f)
	var req http1.Request
	if _, err := http1.ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n"), &req, nil); err != nil {
		t.Fatal(err)
	}
	var x filter.Exchange
	x.Reset(nil)
	x.Req, x.Method = &req, req.Method
	c.Run(&x, 0)
	hs := []http1.Header{{Name: []byte("Content-Type"), Value: []byte("application/json")}}
	if v, at := c.ResponseHead(&x, 2, 200, hs, false); v != filter.Respond || at != 0 {
		t.Fatalf("verdict %v at %d", v, at)
	}
	if x.Body().Active() || strings.Contains(string(x.ResponseHeaders()), "Content-Encoding") {
		t.Fatalf("the local answer keeps the body phase: active %v, lines %q", x.Body().Active(), x.ResponseHeaders())
	}
}
