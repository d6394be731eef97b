package observe

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

// TestRefusedRequestLines: a request refused before it parsed (no method,
// no path) and one refused after its method (a 414) still make
// well-formed lines in both formats, route and target empty.
func TestRefusedRequestLines(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	timeout := &Record{Start: 1, RequestID: []byte("r-408"), ClientIP: ip, Minor: 1, Status: 408, BytesIn: 12, BytesOut: 90}
	long := &Record{Start: 1, RequestID: []byte("r-414"), ClientIP: ip, Minor: 1, Method: []byte("GET"), Status: 414}
	withQuery := &Record{Start: 1, RequestID: []byte("r-400"), ClientIP: ip, Minor: 1, Method: []byte("GET"), Path: []byte("/a"), Query: []byte("x=1"), Status: 400}
	for _, tc := range []struct {
		r        *Record
		clf      string
		jsonPath string
		query    string
	}{
		{timeout, `] "-" 408 90 "r-408" `, "", ""},
		{long, `] "GET - HTTP/1.1" 414 0 "r-414" `, "", ""},
		{withQuery, `] "GET /a?x=1 HTTP/1.1" 400 0 "r-400" `, "/a", "x=1"},
	} {
		line := string(appendCLF(nil, tc.r))
		if !strings.Contains(line, tc.clf) || !strings.HasSuffix(line, " - -") || !strings.HasPrefix(line, "192.0.2.7 - - [") {
			t.Errorf("clf %q lacks %q or the empty route and target", line, tc.clf)
		}
		var m map[string]any
		if err := json.Unmarshal(appendJSONRecord(nil, tc.r), &m); err != nil {
			t.Fatal(err)
		}
		if m["path"] != tc.jsonPath || m["query"] != tc.query || m["route"] != "" || m["status"] != float64(tc.r.Status) {
			t.Errorf("json %v", m)
		}
	}
}
