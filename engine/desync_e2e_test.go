package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/sluicehq/sluice/http1"
)

// Request smuggling proof through the running gateway: every case of the
// desync-guardian corpus (the same third-party files http1/desync_test.go
// checks at the parser level) is sent on a fresh raw connection to a real
// gateway whose only upstream records every byte it receives. A request the
// gateway refuses must be answered with the parser's status, closed, and
// must leave the upstream untouched; a request it accepts must reach the
// upstream in a form that two independent parsers (ours and net/http's) read
// the same way: one request, one framing, the same body length.

// dgCorpusDir is the desync-guardian corpus, kept in the repository (source
// and commit: testdata/README.md).
const dgCorpusDir = "../testdata/desync-guardian"

// dgCorpusFiles are the corpus files this test sends; each one missing is a
// failure, so a partial copy cannot pass by testing less.
var dgCorpusFiles = []string{
	"acceptable.yaml", "ambiguous.yaml", "bad-header-characters.yaml",
	"edge-cases.yaml", "more-compliant-tests.yaml", "real-life-test-cases.yaml",
	"rfc-compliant.yaml", "severe.yaml", "uri-specific-test-cases.yaml",
}

// dgCase is one corpus entry (format: README.upstream.md in dgCorpusDir).
type dgCase struct {
	Name    string `yaml:"name"`
	URI     string `yaml:"uri"`
	Method  string `yaml:"method"`
	Version string `yaml:"version"`
	Headers []struct {
		Name  string `yaml:"name"`
		Value any    `yaml:"value"` // some values are YAML integers
	} `yaml:"headers"`
	Expected struct {
		Tier   string `yaml:"tier"`
		Reason string `yaml:"reason"`
	} `yaml:"expected"`
	file string
}

// dgLoadCorpus reads every corpus file, in a stable order; a missing file
// fails the test.
func dgLoadCorpus(t *testing.T) []dgCase {
	t.Helper()
	var all []dgCase
	for _, name := range dgCorpusFiles {
		f := filepath.Join(dgCorpusDir, name)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("desync-guardian corpus (see testdata/README.md): %v", err)
		}
		var cases []dgCase
		if err := yaml.Unmarshal(data, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := range cases {
			cases[i].file = filepath.Base(f)
		}
		all = append(all, cases...)
	}
	return all
}

// dgHead renders a case's head the way the corpus means it (and the way
// http1/desync_test.go does): "name:value" fields, and a Host first when the
// case has none, so HTTP/1.1 cases are not refused for the wrong reason.
func dgHead(c dgCase) []byte {
	var b strings.Builder
	b.WriteString(c.Method + " " + c.URI)
	if c.Version != "" {
		b.WriteString(" " + c.Version)
	}
	b.WriteString("\r\n")
	hasHost := false
	for _, h := range c.Headers {
		hasHost = hasHost || strings.EqualFold(h.Name, "host")
	}
	if !hasHost {
		b.WriteString("Host: localhost\r\n")
	}
	for _, h := range c.Headers {
		v := ""
		if h.Value != nil {
			v = fmt.Sprint(h.Value)
		}
		b.WriteString(h.Name + ":" + v + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// dgSmuggled follows the head of every request the gateway must refuse: a
// chunked terminator and a second request, the classic smuggling payload. If
// any of it ever reached the upstream, the capture would show it.
const dgSmuggled = "0\r\n\r\nGET /dg-smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"

// dgBody returns the body that completes an accepted request, framed the way
// the parser read the head: five bytes, chunked or by length.
func dgBody(r *http1.Request) (wire []byte, n int) {
	switch http1.RequestFraming(r) {
	case http1.FramingChunked:
		return []byte("5\r\nhello\r\n0\r\n\r\n"), 5
	case http1.FramingLength:
		return bytes.Repeat([]byte{'b'}, int(r.ContentLength)), int(r.ContentLength)
	}
	return nil, 0
}

// dgUpstream records every byte it receives, whatever the connection, and
// answers each request (as net/http reads it) with a fixed response. Cases
// run one at a time, so the bytes captured between two take calls belong to
// one case even though the gateway reuses pooled connections.
type dgUpstream struct {
	addr string
	mu   sync.Mutex
	got  []byte // captured since the last take
}

// dgResponse is the upstream's answer to every request.
const dgResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

// dgCapture is a reader that copies what it reads into the upstream's log
// before anybody parses it, so the log is exactly what arrived.
type dgCapture struct {
	u *dgUpstream
	c net.Conn
}

func (r dgCapture) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	r.u.mu.Lock()
	r.u.got = append(r.u.got, p[:n]...)
	r.u.mu.Unlock()
	return n, err
}

// take returns and clears what was captured since the last call.
func (u *dgUpstream) take() []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	b := u.got
	u.got = nil
	return b
}

func dgStartUpstream(t *testing.T) *dgUpstream {
	t.Helper()
	u := &dgUpstream{}
	s := startScriptedUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(dgCapture{u, c})
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			if _, err := io.WriteString(c, dgResponse); err != nil {
				return
			}
		}
	})
	u.addr = s.addr
	return u
}

// dgConfig routes everything to u. The response timeout is long: the
// corpus has a 4 MB body, which the gateway hands to the kernel much faster
// than a capturing upstream under -race reads it, and the timeout runs from
// the last byte handed over (the framing is under test here, not timing).
func dgConfig(u *dgUpstream) string {
	return strings.Replace(oneCluster(u.addr, "", "  - {name: all, match: {path: /*}, cluster: up}\n"),
		"response: 1s", "response: 10s", 1)
}

// dgExpectRejected reads the gateway's answer to a refused request: the
// status want, Connection: close, then EOF.
func dgExpectRejected(t *testing.T, c *rawConn, want int) error {
	t.Helper()
	resp, err := http.ReadResponse(c.r, &http.Request{Method: "GET"})
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, want)
	}
	if !resp.Close {
		return errors.New("response does not say Connection: close")
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := c.r.ReadByte(); err == nil {
		return fmt.Errorf("bytes after the error response: %q", b)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return errors.New("connection still open after the error response")
	}
	return nil
}

// dgFramingFields counts the framing fields of a forwarded head and whether
// any line is folded, by looking at the raw lines rather than trusting a
// parser: the point is that no reader can be given a choice.
func dgFramingFields(head []byte) (cl, te, host int, folded bool) {
	lines := strings.Split(string(head), "\r\n")
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			folded = true
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(name) {
		case "content-length":
			cl++
		case "transfer-encoding":
			te++
		case "host":
			host++
		}
	}
	return cl, te, host, folded
}

// dgReadOurs reads captured bytes as a sequence of requests with http1 and
// returns each body's length; err reports bytes that do not parse.
func dgReadOurs(b []byte) (bodies []int, heads [][]byte, err error) {
	var r http1.Request
	for len(b) > 0 {
		n, err := http1.ParseRequest(b, &r, nil)
		if err != nil {
			return bodies, heads, fmt.Errorf("http1.ParseRequest: %w", err)
		}
		heads = append(heads, b[:n])
		b = b[n:]
		switch http1.RequestFraming(&r) {
		case http1.FramingLength:
			if int64(len(b)) < r.ContentLength {
				return bodies, heads, fmt.Errorf("body: %d of %d bytes", len(b), r.ContentLength)
			}
			bodies = append(bodies, int(r.ContentLength))
			b = b[r.ContentLength:]
		case http1.FramingChunked:
			var ch http1.Chunked
			size := 0
			for !ch.Done() {
				if len(b) == 0 {
					return bodies, heads, errors.New("chunked body: truncated")
				}
				k, data, _, err := ch.Step(b)
				if err != nil {
					return bodies, heads, fmt.Errorf("chunked body: %w", err)
				}
				size += len(data)
				b = b[k:]
			}
			bodies = append(bodies, size)
		default:
			bodies = append(bodies, 0)
		}
	}
	return bodies, heads, nil
}

// dgReadStd reads the same bytes with net/http, the other opinion.
func dgReadStd(b []byte) (bodies []int, err error) {
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return bodies, nil
		}
		req, err := http.ReadRequest(br)
		if err != nil {
			return bodies, fmt.Errorf("http.ReadRequest: %w", err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return bodies, fmt.Errorf("http.ReadRequest body: %w", err)
		}
		bodies = append(bodies, len(body))
	}
}

// TestDesyncGuardianThroughGateway drives the whole corpus through a running
// gateway. Severe and Ambiguous cases must get 400 and a closed connection
// and forward nothing; Compliant and Acceptable cases get what the parser
// decides (the parser-level test pins its documented exceptions) and, when
// accepted, reach the upstream as exactly one unambiguous request.
func TestDesyncGuardianThroughGateway(t *testing.T) {
	checkGoroutineLeaks(t)
	cases := dgLoadCorpus(t)
	up := dgStartUpstream(t)
	g := startGateway(t, dgConfig(up), 1)
	lim := &g.e.Snapshot().Limits

	type tally struct{ total, rejected, forwarded int }
	tiers := map[string]*tally{}
	var req http1.Request
	start := time.Now()
	for i, c := range cases {
		label := fmt.Sprintf("%s #%d %q (%s/%s)", c.file, i, c.Name, c.Expected.Tier, c.Expected.Reason)
		tl := tiers[c.Expected.Tier]
		if tl == nil {
			tl = &tally{}
			tiers[c.Expected.Tier] = tl
		}
		tl.total++
		head := dgHead(c)
		_, perr := http1.ParseRequest(head, &req, lim)
		switch c.Expected.Tier {
		case "Severe", "Ambiguous":
			if perr == nil || http1.StatusOf(perr) != 400 {
				t.Errorf("%s: the parser does not refuse it with 400 (%v)", label, perr)
				continue
			}
		case "Compliant", "Acceptable":
		default:
			t.Errorf("%s: unknown tier", label)
			continue
		}
		if perr == http1.ErrIncomplete {
			t.Errorf("%s: the head is incomplete to the parser", label)
			continue
		}

		conn := dialRaw(t, g.addr)
		if perr == nil {
			// The path policy runs after the parser, before routing: it is
			// stricter than the corpus, which calls an encoded TAB, CR or
			// LF in the path compliant (docs/SECURITY.md, "Paths"). The
			// framing was sound, so the refusal keeps the connection.
			if _, nerr := g.e.Snapshot().PathPolicy.Normalize(nil, req.Path); nerr != nil {
				tl.rejected++
				conn.send(string(head))
				if resp, _ := conn.readResponse(c.Method); resp.StatusCode != 400 {
					t.Errorf("%s: path policy refusal got %d, want 400", label, resp.StatusCode)
				}
				conn.Close()
				if got := up.take(); len(got) > 0 {
					t.Errorf("%s: refused, yet the upstream received %q", label, got)
				}
				continue
			}
		}
		if perr != nil {
			tl.rejected++
			conn.send(string(head) + dgSmuggled)
			if err := dgExpectRejected(t, conn, http1.StatusOf(perr)); err != nil {
				t.Errorf("%s: %v\nsent %q", label, err, head)
			}
			conn.Close()
			if got := up.take(); len(got) > 0 {
				t.Errorf("%s: refused, yet the upstream received %q", label, got)
			}
			continue
		}

		tl.forwarded++
		body, bodyLen := dgBody(&req)
		conn.send(string(head) + string(body))
		resp, rb := conn.readResponse(c.Method)
		conn.Close()
		if resp.StatusCode != 200 || (c.Method != "HEAD" && rb != "ok") {
			t.Errorf("%s: got %d %q, want the upstream's 200 ok\nsent %q", label, resp.StatusCode, rb, head)
			continue
		}
		got := up.take()
		ours, heads, oerr := dgReadOurs(got)
		std, serr := dgReadStd(got)
		switch {
		case oerr != nil || serr != nil:
			t.Errorf("%s: forwarded bytes do not parse: ours %v, net/http %v\n%q", label, oerr, serr, got)
		case len(ours) != 1 || len(std) != 1:
			t.Errorf("%s: forwarded %d requests to us, %d to net/http, want 1\n%q", label, len(ours), len(std), got)
		case ours[0] != bodyLen || std[0] != bodyLen:
			t.Errorf("%s: forwarded body is %d bytes to us, %d to net/http, want %d\n%q", label, ours[0], std[0], bodyLen, got)
		default:
			cl, te, host, folded := dgFramingFields(heads[0])
			if cl > 1 || te > 1 || cl+te > 1 || host != 1 || folded || (bodyLen > 0 && cl+te != 1) {
				t.Errorf("%s: forwarded head is not unambiguous (Content-Length x%d, Transfer-Encoding x%d, Host x%d, folded %v)\n%q",
					label, cl, te, host, folded, heads[0])
			}
		}
	}

	// A last well-formed request on a fresh connection must arrive alone:
	// bytes of a refused case that reached the upstream late would show here.
	conn := dialRaw(t, g.addr)
	conn.send("GET /dg-final HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	conn.readResponse("GET")
	if got := up.take(); !bytes.HasPrefix(got, []byte("GET /dg-final ")) || bytes.Contains(got, []byte("dg-smuggled")) {
		t.Errorf("final request: the upstream received %q", got)
	}

	names := make([]string, 0, len(tiers))
	for n := range tiers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tl := tiers[n]
		t.Logf("%-10s total=%d rejected=%d forwarded=%d", n, tl.total, tl.rejected, tl.forwarded)
	}
	t.Logf("%d cases in %v", len(cases), time.Since(start).Round(time.Millisecond))
}

// TestDesyncGatewayExtras covers what the parser leaves to the rest of the
// gateway, and smuggling payloads hidden in a well-framed body:
//   - a malformed percent-encoding in the path is accepted by http1 (it only
//     checks bytes; net/http refuses it, see http1/differential_test.go) and
//     must be refused by the router's Normalize with 400 before anything is
//     forwarded (RFC 3986 §2.1, RFC 9112 §3);
//   - a request embedded in a Content-Length or chunked body must reach the
//     upstream as body bytes of one request, never as a second request.
func TestDesyncGatewayExtras(t *testing.T) {
	checkGoroutineLeaks(t)
	up := dgStartUpstream(t)
	g := startGateway(t, dgConfig(up), 1)

	for _, path := range []string{"/a%zz", "/a%b", "/a%", "/%2"} {
		conn := dialRaw(t, g.addr)
		conn.send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n")
		resp, _ := conn.readResponse("GET")
		conn.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", path, resp.StatusCode)
		}
		if got := up.take(); len(got) > 0 {
			t.Errorf("%s: refused, yet the upstream received %q", path, got)
		}
	}

	const inner = "GET /dg-smuggled HTTP/1.1\r\nHost: evil\r\n\r\n"
	chunkedInner := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(inner), inner)
	for _, c := range []struct{ name, req string }{
		{"length", fmt.Sprintf("POST /dg HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s", len(inner), inner)},
		{"chunked", "POST /dg HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedInner},
	} {
		conn := dialRaw(t, g.addr)
		conn.send(c.req)
		resp, _ := conn.readResponse("POST")
		conn.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d, want 200", c.name, resp.StatusCode)
		}
		got := up.take()
		ours, _, oerr := dgReadOurs(got)
		std, serr := dgReadStd(got)
		if oerr != nil || serr != nil || len(ours) != 1 || len(std) != 1 || ours[0] != len(inner) || std[0] != len(inner) {
			t.Errorf("%s: upstream read %v (%v) / net/http %v (%v), want one request with a %d-byte body\n%q",
				c.name, ours, oerr, std, serr, len(inner), got)
		}
	}
}
