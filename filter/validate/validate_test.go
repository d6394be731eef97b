package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// orderSchema is the schema the tests check bodies against.
const orderSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "items"],
  "additionalProperties": false,
  "properties": {
    "id": {"type": "string", "pattern": "^o-[0-9]+$"},
    "items": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
    "kind": {"anyOf": [{"const": "retail"}, {"const": "wholesale"}]},
    "a/b~c": {"type": "integer"}
  },
  "$defs": {
    "item": {"type": "object", "required": ["sku", "qty"],
             "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}}}
  }
}`

// buildIn writes files (name -> content) and a config holding the instance
// inst as middleware "v" into a temporary directory, and builds it.
func buildIn(t testing.TB, inst string, files map[string]string) (*Filter, error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.Parse(filepath.Join(dir, "v.yaml"), []byte("middleware:\n  v: "+inst+"\n"))
	if err != nil {
		return nil, err
	}
	f, err := filter.Build(c.Middleware["v"])
	if err != nil {
		return nil, err
	}
	return f.(*Filter), nil
}

func mustBuild(t testing.TB, inst string) *Filter {
	t.Helper()
	f, err := buildIn(t, inst, map[string]string{"schemas/order.json": orderSchema})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestValidateConfigErrors(t *testing.T) {
	cases := []struct {
		inst  string
		files map[string]string
		want  string
	}{
		{"{type: validate}", nil, "v.yaml:2:3: middleware.v: nothing to check"},
		{"{type: validate, required_headers: ['Bad Name']}", nil, `v.yaml:2:41: middleware.v.required_headers: "Bad Name" is not a valid header name`},
		{"{type: validate, content_types: [json]}", nil, `v.yaml:2:38: middleware.v.content_types: "json" is not a media type`},
		{"{type: validate, content_types: ['application/json; charset=utf-8']}", nil, `is not a media type`},
		{"{type: validate, content_types: ['*/json']}", nil, `is not a media type`},
		{"{type: validate, max_body: 5MiB}", nil, `v.yaml:2:33: middleware.v.max_body: 5MiB is past the largest body checked, 4MiB`},
		{"{type: validate, max_body: -1KiB}", nil, `v.yaml:2:33: middleware.v: negative size "-1KiB"`},
		{"{type: validate, assert_format: true}", nil, "middleware.v.assert_format: needs json_schema"},
		{"{type: validate, json_schema: [a]}", nil, "v.yaml:2:36: middleware.v: expected a string, got a list"},
		{"{type: validate, jsonschema: a.json}", nil, `unknown field "jsonschema"`},
		{"{type: validate, json_schema: missing.json}", nil, "v.yaml:2:36: middleware.v.json_schema: open "},
		{"{type: validate, json_schema: s.json}", map[string]string{"s.json": "{\"type\":\n  objekt}"}, "s.json:2:3: not JSON: invalid character 'o'"},
		{"{type: validate, json_schema: s.json}", map[string]string{"s.json": `{"type": "objekt"}`}, `s.json: not a valid JSON Schema: /type: enum: value must be one of 'array'`},
		{"{type: validate, json_schema: s.json}", map[string]string{"s.json": `{"minimum": "1"}`}, `/minimum: type: got string, want number`},
		{"{type: validate, json_schema: s.json}", map[string]string{"s.json": `{"type":"object","type":"array"}`}, `s.json:1:18: not JSON: duplicate member name "type"`},
		{"{type: validate, json_schema: s.json}", map[string]string{"s.json": `{"$ref": "other.json"}`}, "only references within the schema file are supported"},
		{"{type: validate, json_schema: s.json}", map[string]string{"s.json": `{"$ref": "https://example.com/s.json"}`}, "only references within the schema file are supported"},
	}
	for _, tc := range cases {
		_, err := buildIn(t, tc.inst, tc.files)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want …%s…", tc.inst, err, tc.want)
		}
	}
}

// request parses a raw request head as the engine does.
func request(t testing.TB, raw string) *http1.Request {
	t.Helper()
	req := &http1.Request{}
	if _, err := http1.ParseRequest([]byte(raw), req, nil); err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return req
}

// run runs f's Request phase on raw and returns the verdict and, on a
// Respond, the status and error text (Reject's message or RejectDetail's
// document).
func run(t testing.TB, f *Filter, raw string) (filter.Verdict, int, string, *filter.Exchange) {
	t.Helper()
	x := &filter.Exchange{}
	x.Reset(nil)
	x.Req = request(t, raw)
	x.RequestID = []byte("rid-1")
	v, _ := filter.NewChain(f).Run(x, 0)
	text := x.Message
	if _, body, ok := x.LocalReply(); ok {
		text = string(body)
	}
	return v, x.Status, text, x
}

func TestValidateRequestHead(t *testing.T) {
	f := mustBuild(t, "{type: validate, required_headers: [X-Request-ID, X-Tenant], content_types: [application/json, 'text/*', Application/Merge-Patch+JSON], max_body: 100}")
	const base = "POST /o HTTP/1.1\r\nHost: h\r\nX-Request-ID: r\r\nX-Tenant: t\r\n"
	cases := []struct {
		name, raw string
		status    int
		text      string
		buffer    int64 // the body limit asked of the engine
	}{
		{"all good", base + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n", 0, "", 0},
		{"parameters ignored", base + "Content-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n", 0, "", 0},
		{"case-insensitive", base + "Content-Type: APPLICATION/JSON\r\nContent-Length: 2\r\n\r\n", 0, "", 0},
		{"allowed in config case", base + "Content-Type: application/merge-patch+json\r\nContent-Length: 2\r\n\r\n", 0, "", 0},
		{"top-level wildcard", base + "Content-Type: text/csv\r\nContent-Length: 2\r\n\r\n", 0, "", 0},
		{"chunked is counted by the engine", base + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", 0, "", 100},
		{"missing header", "POST /o HTTP/1.1\r\nHost: h\r\nX-Request-ID: r\r\nContent-Length: 2\r\n\r\n", 400, "missing required header X-Tenant", 0},
		{"empty header is missing", "POST /o HTTP/1.1\r\nHost: h\r\nX-Request-ID:\r\nX-Tenant: t\r\n\r\n", 400, "missing required header X-Request-ID", 0},
		{"wrong media type", base + "Content-Type: application/xml\r\nContent-Length: 2\r\n\r\n", 415,
			`{"error":"unsupported media type: application/xml","request_id":"rid-1"}` + "\n", 0},
		{"prefix is not a match", base + "Content-Type: application/jsonx\r\nContent-Length: 2\r\n\r\n", 415, "application/jsonx", 0},
		{"no media type with a body", base + "Content-Length: 2\r\n\r\n", 415, "unsupported media type: none given", 0},
		{"every Content-Type must be allowed", base + "Content-Type: application/json\r\nContent-Type: application/xml\r\nContent-Length: 2\r\n\r\n", 415, "application/xml", 0},
		{"no body: media type not checked", base + "\r\n", 0, "", 0},
		{"zero length: media type not checked", base + "Content-Length: 0\r\n\r\n", 0, "", 0},
		{"too large by Content-Length", base + "Content-Type: application/json\r\nContent-Length: 101\r\n\r\n", 413, "request body too large", 0},
		{"at the limit", base + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n", 0, "", 0},
	}
	for _, tc := range cases {
		v, status, text, x := run(t, f, tc.raw)
		if status != tc.status || !strings.Contains(text, tc.text) || (tc.status == 0) != (v == filter.Continue) {
			t.Errorf("%s: got %v %d %q, want %d …%s…", tc.name, v, status, text, tc.status, tc.text)
		}
		if x.BodyLimit() != tc.buffer {
			t.Errorf("%s: body limit %d, want %d", tc.name, x.BodyLimit(), tc.buffer)
		}
	}
}

func TestValidateRequireBodyAndSchemaLimit(t *testing.T) {
	f := mustBuild(t, "{type: validate, json_schema: schemas/order.json, require_body: true}")
	if _, status, text, _ := run(t, f, "POST /o HTTP/1.1\r\nHost: h\r\n\r\n"); status != 400 || text != "request body required" {
		t.Errorf("no body: %d %q", status, text)
	}
	_, status, _, x := run(t, f, "POST /o HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
	if status != 0 || x.BodyLimit() != int64(DefaultSchemaBody) {
		t.Errorf("schema without max_body: status %d, body limit %d, want %d", status, x.BodyLimit(), DefaultSchemaBody)
	}
	if _, status, _, _ := run(t, f, "POST /o HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n"); status != 413 {
		t.Errorf("past the default schema body: %d, want 413", status)
	}
	g := mustBuild(t, "{type: validate, json_schema: schemas/order.json}")
	if v, _, _, x := run(t, g, "GET /o HTTP/1.1\r\nHost: h\r\n\r\n"); v != filter.Continue || x.BodyLimit() != 0 {
		t.Errorf("GET without a body: %v, body limit %d; want Continue and no buffering", v, x.BodyLimit())
	}
}

// body runs f's body phase on body after its Request phase on a JSON POST,
// as the engine does: a Pause (a body checked off the loop) is waited for,
// and the phase runs again from the filter that paused.
func body(t testing.TB, f *Filter, body string) (int, string) {
	t.Helper()
	raw := "POST /o HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n"
	p := &testParker{resumed: make(chan struct{}, 1)}
	x := &filter.Exchange{}
	x.Reset(p)
	x.Req = request(t, raw)
	x.RequestID = []byte("rid-1")
	c := filter.NewChain(f)
	if v, _ := c.Run(x, 0); v != filter.Continue {
		t.Fatalf("head refused: %d %s", x.Status, x.Message)
	}
	v, at := c.RequestBody(x, []byte(body), 0)
	if v == filter.Pause {
		select {
		case <-p.resumed:
		case <-time.After(10 * time.Second):
			t.Fatal("not resumed")
		}
		v, _ = c.RequestBody(x, []byte(body), at)
	}
	if v == filter.Continue {
		return 0, ""
	}
	_, doc, _ := x.LocalReply()
	return x.Status, string(doc)
}

// testParker is the engine's side of Park for unit tests: it only tells
// the test the request was resumed.
type testParker struct{ resumed chan struct{} }

func (p *testParker) Park(time.Duration, string) func() {
	return func() { p.resumed <- struct{}{} }
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func TestValidateBody(t *testing.T) {
	f := mustBuild(t, "{type: validate, json_schema: schemas/order.json}")
	const ok = `{"id":"o-1","items":[{"sku":"a","qty":2}]}`
	cases := []struct {
		name, body string
		want       string // the "error" of the 400; "" passes
	}{
		{"valid", ok, ""},
		{"valid with whitespace and escapes", " {\"id\" : \"o-\\u0031\", \"items\":[{\"sku\":\"\\ud83d\\ude00\",\"qty\":1e0}]}\n", ""},
		{"minimum", `{"id":"o-1","items":[{"sku":"a","qty":2},{"sku":"b","qty":0}]}`, "body does not match schema: /items/1/qty: minimum: got 0, want 1"},
		{"type", `{"id":"o-1","items":[{"sku":"a","qty":"2"}]}`, "body does not match schema: /items/0/qty: type: got string, want integer"},
		{"required at the root", `{"items":[{"sku":"a","qty":2}]}`, "body does not match schema: (root): required: missing property 'id'"},
		{"required in an item", `{"id":"o-1","items":[{"qty":2}]}`, "body does not match schema: /items/0: required: missing property 'sku'"},
		{"pattern", `{"id":"x-1","items":[{"sku":"a","qty":2}]}`, "body does not match schema: /id: pattern: 'x-1' does not match pattern '^o-[0-9]+$'"},
		{"additional property", `{"id":"o-1","items":[{"sku":"a","qty":2}],"debug":true}`, "body does not match schema: (root): additionalProperties: additional properties 'debug' not allowed"},
		{"anyOf", `{"id":"o-1","items":[{"sku":"a","qty":2}],"kind":"other"}`, "body does not match schema: /kind: anyOf: matches none of the alternatives"},
		{"pointer escaping", `{"id":"o-1","items":[{"sku":"a","qty":2}],"a/b~c":"x"}`, "body does not match schema: /a~1b~0c: type: got string, want integer"},
		{"minItems", `{"id":"o-1","items":[]}`, "body does not match schema: /items: minItems: got 0, want 1"},
		{"not JSON", `{"id":"o-1",}`, "body is not JSON: expected a member name at byte 12"},
		{"only whitespace", "  ", "body is not JSON: unexpected end of input at byte 2"},
		{"two documents", ok + ok, "body is not JSON: data after the JSON value at byte 42"},
		{"duplicate name", `{"id":"o-1","items":[{"sku":"a","qty":2}],"id":"o-2"}`, `body is not JSON: duplicate member name \"id\" at byte 42`},
		{"invalid UTF-8", "{\"id\":\"o-1\xff\",\"items\":[]}", "body is not JSON: invalid UTF-8 in a string at byte 7"},
	}
	for _, tc := range cases {
		status, doc := body(t, f, tc.body)
		if tc.want == "" {
			if status != 0 {
				t.Errorf("%s: refused %d %s", tc.name, status, doc)
			}
			continue
		}
		if want := `{"error":"` + tc.want + `","request_id":"rid-1"}` + "\n"; status != 400 || doc != want {
			t.Errorf("%s: got %d %s want 400 %s", tc.name, status, doc, want)
		}
	}
}

// TestValidateDetailBounded: a failing field's path comes from the client;
// the error quotes at most filter.MaxDetail bytes of detail.
func TestValidateDetailBounded(t *testing.T) {
	f := mustBuild(t, "{type: validate, json_schema: schemas/order.json}")
	long := strings.Repeat("é", 5000)
	status, doc := body(t, f, `{"id":"o-1","items":[{"sku":"a","qty":2}],"`+long+`":1}`)
	if status != 400 || len(doc) > 300 || !strings.Contains(doc, "additional properties 'ééé") || !strings.Contains(doc, "…\",\"request_id\"") {
		t.Errorf("got %d %d bytes: %s", status, len(doc), doc)
	}
}

// TestValidateHeadNoAlloc: the head checks of a passing request allocate
// nothing (the body phase's JSON decoding does, by nature).
func TestValidateHeadNoAlloc(t *testing.T) {
	f := mustBuild(t, "{type: validate, required_headers: [X-Request-ID], content_types: [application/json], max_body: 64KiB, json_schema: schemas/order.json}")
	req := request(t, "POST /o HTTP/1.1\r\nHost: h\r\nX-Request-ID: r\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 20\r\n\r\n")
	c := filter.NewChain(f)
	x := &filter.Exchange{}
	n := testing.AllocsPerRun(200, func() {
		x.Reset(nil)
		x.Req = req
		if v, _ := c.Run(x, 0); v != filter.Continue || x.BodyLimit() != 64<<10 {
			t.Fatalf("verdict %v, body limit %d", v, x.BodyLimit())
		}
	})
	if n != 0 {
		t.Errorf("%v allocs per request head, want 0", n)
	}
}

// TestValidateReloadInputs: the schema file is the instance's input, so a
// changed schema rebuilds it and an unchanged one is carried over.
func TestValidateReloadInputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	if err := os.WriteFile(p, []byte(orderSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Settings{JSONSchema: "s.json", Dir: dir}
	a, ok := filter.FingerprintInputs(s)
	b, _ := filter.FingerprintInputs(s)
	if !ok || a != b {
		t.Fatalf("fingerprint: reusable %v, stable %v", ok, a == b)
	}
	if err := os.WriteFile(p, []byte(`{"type":"object"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, _ := filter.FingerprintInputs(s); c == a {
		t.Error("a changed schema file kept the fingerprint")
	}
	if _, ok := filter.FingerprintInputs(&Settings{JSONSchema: "gone.json", Dir: dir}); ok {
		t.Error("a missing schema file is reusable")
	}
}

// TestValidateLargeBodyOffLoop: a body past inlineMax is checked on a
// goroutine (the phase pauses), with the same outcomes as on the loop.
func TestValidateLargeBodyOffLoop(t *testing.T) {
	f := mustBuild(t, "{type: validate, json_schema: schemas/order.json}")
	items := strings.Repeat(`{"sku":"abcdefgh","qty":3},`, 100)
	good := `{"id":"o-9","items":[` + items + `{"sku":"z","qty":1}]}`
	bad := `{"id":"o-9","items":[` + items + `{"sku":"z","qty":-1}]}`
	if len(good) <= inlineMax {
		t.Fatalf("body of %d bytes is checked on the loop", len(good))
	}
	x := &filter.Exchange{}
	x.Reset(&testParker{resumed: make(chan struct{}, 1)})
	x.BufferBody(1 << 20)
	if v := f.RequestBody(x, []byte(good)); v != filter.Pause {
		t.Fatalf("verdict %v for a large body, want Pause", v)
	}
	if status, doc := body(t, f, good); status != 0 {
		t.Errorf("large valid body refused: %d %s", status, doc)
	}
	want := `{"error":"body does not match schema: /items/100/qty: minimum: got -1, want 1","request_id":"rid-1"}` + "\n"
	if status, doc := body(t, f, bad); status != 400 || doc != want {
		t.Errorf("large invalid body: %d %s", status, doc)
	}
}
