package filter

import (
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"
)

// bodyFilter asks for the body with limit (0: does not ask) and answers
// the body phase with body.
type bodyFilter struct {
	limit int64
	body  func(x *Exchange, b []byte) Verdict
	seen  *[]string
	name  string
}

func (f *bodyFilter) Request(x *Exchange) Verdict {
	x.BufferBody(f.limit)
	return Continue
}

func (f *bodyFilter) RequestBody(x *Exchange, b []byte) Verdict {
	*f.seen = append(*f.seen, f.name+":"+string(b))
	if f.body == nil {
		return Continue
	}
	return f.body(x, b)
}

// TestRequestBodyPhase: only the filters that asked get the body, in route
// order; the smallest limit wins; the first refusal stops the phase and is
// counted under its message; a Pause stops it at the filter it resumes from.
func TestRequestBodyPhase(t *testing.T) {
	var seen []string
	reject := func(x *Exchange, _ []byte) Verdict { return x.RejectDetail(400, "bad body", []byte("/a: type")) }
	pause := func(*Exchange, []byte) Verdict { return Pause }
	cases := []struct {
		name    string
		filters []*bodyFilter
		limit   int64
		seen    string
		at      int
		status  int
	}{
		{"nobody asks", []*bodyFilter{{name: "a"}}, 0, "", 1, 0},
		{"route order, smallest limit", []*bodyFilter{{name: "a", limit: 10}, {name: "b"}, {name: "c", limit: 5}}, 5, "a:{} c:{}", 3, 0},
		{"first refusal stops", []*bodyFilter{{name: "a", limit: 10, body: reject}, {name: "b", limit: 10}}, 10, "a:{}", 0, 400},
		{"pause", []*bodyFilter{{name: "a", limit: 10}, {name: "b", limit: 10, body: pause}, {name: "c", limit: 10}}, 10, "a:{} b:{}", 1, 0},
	}
	for _, tc := range cases {
		seen = seen[:0]
		var fs []Filter
		for _, f := range tc.filters {
			f.seen = &seen
			fs = append(fs, f)
		}
		c := NewChain(fs...)
		c.Label(0, "body_a", "test")
		var x Exchange
		x.Reset(nil)
		if v, _ := c.Run(&x, 0); v != Continue {
			t.Fatalf("%s: Request verdict %v", tc.name, v)
		}
		c.Run(&x, 1) // a resumed chain asks again: counted once
		if x.BodyLimit() != tc.limit {
			t.Errorf("%s: limit %d, want %d", tc.name, x.BodyLimit(), tc.limit)
		}
		v, at := c.RequestBody(&x, []byte("{}"), 0)
		if got := strings.Join(seen, " "); got != tc.seen || at != tc.at || x.Status != tc.status || (v == Respond) != (tc.status != 0) {
			t.Errorf("%s: saw %q, verdict %v at %d status %d; want %q at %d status %d", tc.name, got, v, at, x.Status, tc.seen, tc.at, tc.status)
		}
		if v == Pause { // resumed: the paused filter again, then the rest
			seen = seen[:0]
			tc.filters[at].body = nil
			if v, _ := c.RequestBody(&x, []byte("{}"), at); v != Continue || strings.Join(seen, " ") != "b:{} c:{}" {
				t.Errorf("%s: resumed %v, saw %q", tc.name, v, seen)
			}
		}
	}
	if n := metrics.GetOrCreateCounter(`sluice_middleware_rejections_total{route="",middleware="body_a",type="test",status="400",reason="bad body"}`).Get(); n != 1 {
		t.Errorf("body rejections counted %d, want 1", n)
	}
	var x Exchange
	x.Reset(nil)
	x.BufferBody(0)
	x.BufferBody(-1)
	if x.BodyLimit() != 0 {
		t.Errorf("non-positive limits asked for buffering: %d", x.BodyLimit())
	}
}

// TestRejectDetail: the JSON error with a detail: escaped, bounded, and
// built without allocating once the Exchange's buffer has grown.
func TestRejectDetail(t *testing.T) {
	var x Exchange
	x.Reset(nil)
	x.RequestID = []byte("id-1")
	if v := x.RejectDetail(415, "unsupported media type", []byte("text/\"x\"\n")); v != Respond {
		t.Fatalf("verdict %v", v)
	}
	headers, body, ok := x.LocalReply()
	want := `{"error":"unsupported media type: text/\"x\"\n","request_id":"id-1"}` + "\n"
	if !ok || x.Status != 415 || string(headers) != "Content-Type: application/json\r\n" || string(body) != want || !x.counted() {
		t.Errorf("got ok=%v %d %q %q counted=%v", ok, x.Status, headers, body, x.counted())
	}
	long := []byte(strings.Repeat("a", MaxDetail-1) + "é" + strings.Repeat("b", 100))
	x.RejectDetail(400, "m", long)
	_, body, _ = x.LocalReply()
	if want := `{"error":"m: ` + strings.Repeat("a", MaxDetail-1) + `…","request_id":"id-1"}` + "\n"; string(body) != want {
		t.Errorf("cut detail: got %s", body)
	}
	id := x.RequestID
	if n := testing.AllocsPerRun(100, func() {
		x.Reset(nil)
		x.RequestID = id
		x.RejectDetail(400, "m", long)
	}); n != 0 {
		t.Errorf("%v allocs per RejectDetail, want 0", n)
	}
	x.Reply(204, nil, nil)
	if x.counted() {
		t.Error("a Reply after a RejectDetail counts as a rejection")
	}
}
