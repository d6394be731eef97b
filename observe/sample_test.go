package observe

import (
	"math"
	"testing"
	"time"
)

// TestQuantile: interpolation inside a bucket, the +Inf bucket, a window
// with no observation, and a histogram that appeared inside the window.
func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	prev := Histogram{Bounds: []float64{1, 2, 4, inf}, Counts: []float64{10, 10, 10, 10}}
	h := Histogram{Bounds: []float64{1, 2, 4, inf}, Counts: []float64{10, 20, 30, 40}}
	for _, c := range []struct {
		q, want float64
		prev    Histogram
	}{
		{0.5, 3, prev},         // 30 new: rank 15 is halfway through (2,4]
		{0.25, 1.75, prev},     // rank 7.5 of 30 falls in (1,2]: 1 + 7.5/10
		{0.99, 4, prev},        // in +Inf: the last finite bound
		{0.25, 1, Histogram{}}, // no earlier reading: all 40 count, rank 10 ends (0,1]
	} {
		got, ok := h.Quantile(c.prev, c.q)
		if !ok || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q%v: %v %v, want %v", c.q, got, ok, c.want)
		}
	}
	if _, ok := h.Quantile(h, 0.5); ok {
		t.Error("no observation between two equal readings must give no quantile")
	}
}

// TestParseSample: labels with escapes, a bare name, and malformed lines.
func TestParseSample(t *testing.T) {
	name, l, v, err := parseSample(`sluice_x_total{route="a\"b\\c",le="+Inf"} 42`)
	if err != nil || name != "sluice_x_total" || l["route"] != `a"b\c` || l["le"] != "+Inf" || v != 42 {
		t.Errorf("%q %q %v %v", name, l, v, err)
	}
	if name, _, v, err := parseSample("sluice_up 1.5"); err != nil || name != "sluice_up" || v != 1.5 {
		t.Errorf("bare: %q %v %v", name, v, err)
	}
	for _, bad := range []string{`x{a="b} 1`, `x{a} 1`, `x{a="b"}`, `{a="b"} 1`, ``} {
		if _, _, _, err := parseSample(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestTakeSample: a route's updates reach the sample through the
// registry, by status class, with its histograms and rejections.
func TestTakeSample(t *testing.T) {
	m := NewRouteMetrics("sample-route")
	if _, ok := TakeSample().Routes["sample-route"]; ok {
		t.Fatal("a route without traffic must have no series")
	}
	m.Request([]byte("GET"), 200, time.Millisecond, 0, 10*time.Microsecond, 1, 1)
	m.Request([]byte("POST"), 503, time.Millisecond, 0, 10*time.Microsecond, 1, 1)
	NewTargetMetrics("sample-cluster", "127.0.0.1:1").Active.Set(3)
	s := TakeSample()
	r := s.Routes["sample-route"]
	if r == nil || r.Requests[2] != 1 || r.Requests[5] != 1 || len(r.Total.Counts) != len(latencyBuckets)+1 || r.Total.Counts[len(r.Total.Counts)-1] != 2 ||
		len(r.Upstream.Counts) != 0 {
		t.Errorf("route sample: %+v", r)
	}
	if c := s.Targets["sample-cluster"]["127.0.0.1:1"]; c.Active != 3 {
		t.Errorf("target connections: %+v", c)
	}
}
