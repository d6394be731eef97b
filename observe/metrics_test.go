package observe

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/promtext"
)

// exposition returns /metrics' text and its parse.
func exposition(t *testing.T) (string, map[string]*promtext.Family) {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePrometheus(&buf); err != nil {
		t.Fatal(err)
	}
	fams, err := promtext.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	return buf.String(), fams
}

// TestRequestSeriesOnFirstUse: a route's sluice_requests_total series are
// created as (method, status class) pairs happen, not 48 up front; the
// unrouted ones likewise.
func TestRequestSeriesOnFirstUse(t *testing.T) {
	r := NewRouteMetrics("lazy-series")
	text, _ := exposition(t)
	if strings.Contains(text, `sluice_requests_total{route="lazy-series"`) {
		t.Fatalf("series exist before any request:\n%s", text)
	}
	r.Request([]byte("GET"), 200, time.Millisecond, 0, time.Microsecond, 10, 20)
	r.Request([]byte("GET"), 204, time.Millisecond, 0, time.Microsecond, 10, 20)
	r.Request([]byte("BREW"), 503, time.Millisecond, 0, time.Microsecond, 10, 20)
	_, fams := exposition(t)
	var got []string
	for series, v := range fams["sluice_requests_total"].Samples {
		if strings.Contains(series, `route="lazy-series"`) {
			got = append(got, series)
			if series == `sluice_requests_total{route="lazy-series",method="GET",status="2xx"}` && v != 2 {
				t.Errorf("%s = %v, want 2", series, v)
			}
		}
	}
	if len(got) != 2 {
		t.Errorf("want exactly the GET/2xx and other/5xx series, got %v", got)
	}
	Unrouted(431)
	_, fams = exposition(t)
	for series := range fams["sluice_requests_total"].Samples {
		if strings.HasPrefix(series, `sluice_requests_total{route="",`) && series != `sluice_requests_total{route="",method="",status="4xx"}` {
			t.Errorf("an unrouted series nobody counted: %s", series)
		}
	}
}

// TestExpositionHasHelpAndType: every family /metrics writes, ours and the
// Go runtime's, has a TYPE and a non-empty HELP; ours have their own text.
func TestExpositionHasHelpAndType(t *testing.T) {
	NewRouteMetrics("typed").Request([]byte("GET"), 200, time.Millisecond, time.Millisecond, time.Microsecond, 1, 1)
	NewClusterMetrics("typed").Dials.Inc()
	_, fams := exposition(t)
	for _, want := range []struct{ name, typ string }{
		{"sluice_requests_total", "counter"},
		{"sluice_request_duration_seconds", "histogram"},
		{"sluice_upstream_connections", "gauge"},
		{"sluice_client_connections", "gauge"},
		{"go_goroutines", "gauge"},
	} {
		f := fams[want.name]
		if f == nil {
			t.Errorf("no family %s", want.name)
			continue
		}
		if f.Type != want.typ {
			t.Errorf("%s: TYPE %s, want %s", want.name, f.Type, want.typ)
		}
	}
	// Every family the library writes on Linux has its own text, not the
	// generic fallback (which is there for families a library upgrade adds).
	for name, f := range fams {
		if f.Help == escapeHelp(genericHelp(name)) {
			t.Errorf("%s: only the generic HELP; add it to help or runtimeHelp", name)
		}
		if strings.HasPrefix(name, "sluice_") && f.Help != escapeHelp(help[name]) {
			t.Errorf("%s: HELP %q is not its own text", name, f.Help)
		}
	}
}

// TestHelpMatchesMetricsDoc keeps the help table and docs/METRICS.md
// naming the same families.
func TestHelpMatchesMetricsDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(sluice_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for name := range help {
		if !documented[name] {
			t.Errorf("%s has help text but is not in docs/METRICS.md", name)
		}
	}
	for name := range documented {
		if help[name] == "" {
			t.Errorf("%s is documented but has no help text", name)
		}
	}
}
