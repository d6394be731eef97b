package observe

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// A Sample is a reading of Sluice's own series in the registry /metrics
// serves, grouped for the admin dashboard. Reading the exposition rather
// than keeping a second set of counters means the dashboard can never
// disagree with what Prometheus scrapes, and the request path pays nothing
// for it. Taking one costs a render of the sluice_* series and a parse
// (about a millisecond for a few hundred series), which is why the admin
// server takes at most one per interval, whatever the number of viewers.
type Sample struct {
	At     time.Time
	Routes map[string]*RouteSample // by route name
	// Targets are open upstream connections by cluster, then target.
	Targets map[string]map[string]Conns
}

// RouteSample is one route's counters at the time of a Sample.
type RouteSample struct {
	// Requests are finished requests by status class, indexed by
	// status/100 (0: the client got no response).
	Requests [len(statusClasses)]float64
	// Total, Upstream and Overhead are the duration histograms.
	Total, Upstream, Overhead Histogram
	// RateLimited counts rate_limit rejections; Rejected every
	// middleware rejection (authentication, authorization, limits).
	RateLimited, Rejected float64
}

// Histogram is a cumulative histogram as exposed: Counts[i] observations
// were at most Bounds[i]; the last bound is +Inf.
type Histogram struct {
	Bounds []float64
	Counts []float64
}

// Conns are a target's open upstream connections.
type Conns struct{ Idle, Active float64 }

// TakeSample reads the registry now. Any goroutine; it allocates, so keep
// it off the loops and bounded in rate.
func TakeSample() *Sample {
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, false)
	s := &Sample{At: time.Now(), Routes: map[string]*RouteSample{}, Targets: map[string]map[string]Conns{}}
	for line := range bytes.Lines(buf.Bytes()) {
		if !bytes.HasPrefix(line, []byte("sluice_")) {
			continue // comments, and families the dashboard does not show
		}
		if !sampled(line) {
			continue // bytes, _sum and _count lines, cluster totals, …
		}
		name, labels, value, err := parseSample(string(bytes.TrimSpace(line)))
		if err != nil {
			continue // not ours to judge here; the /metrics tests are
		}
		s.add(name, labels, value)
	}
	return s
}

// sampledNames are the series add files; the rest of the exposition is
// skipped before its labels are parsed.
var sampledNames = []string{
	"sluice_requests_total", "sluice_request_duration_seconds_bucket", "sluice_upstream_duration_seconds_bucket",
	"sluice_gateway_overhead_seconds_bucket", "sluice_middleware_rejections_total", "sluice_upstream_target_connections",
}

// sampled reports whether line is a series of sampledNames.
func sampled(line []byte) bool {
	i := bytes.IndexAny(line, "{ ")
	if i < 0 {
		return false
	}
	for _, n := range sampledNames {
		if string(line[:i]) == n {
			return true
		}
	}
	return false
}

func (s *Sample) route(name string) *RouteSample {
	r := s.Routes[name]
	if r == nil {
		r = &RouteSample{}
		s.Routes[name] = r
	}
	return r
}

// add files one series of the exposition.
func (s *Sample) add(name string, l map[string]string, v float64) {
	switch name {
	case "sluice_requests_total":
		if l["route"] == "" {
			return // answered before routing
		}
		for i, c := range statusClasses {
			if l["status"] == c {
				s.route(l["route"]).Requests[i] += v
			}
		}
	case "sluice_request_duration_seconds_bucket":
		s.route(l["route"]).Total.add(l["le"], v)
	case "sluice_upstream_duration_seconds_bucket":
		s.route(l["route"]).Upstream.add(l["le"], v)
	case "sluice_gateway_overhead_seconds_bucket":
		s.route(l["route"]).Overhead.add(l["le"], v)
	case "sluice_middleware_rejections_total":
		if l["route"] == "" {
			return
		}
		r := s.route(l["route"])
		r.Rejected += v
		if l["type"] == "rate_limit" {
			r.RateLimited += v
		}
	case "sluice_upstream_target_connections":
		t := s.Targets[l["cluster"]]
		if t == nil {
			t = map[string]Conns{}
			s.Targets[l["cluster"]] = t
		}
		c := t[l["target"]]
		if l["state"] == "idle" {
			c.Idle = v
		} else {
			c.Active = v
		}
		t[l["target"]] = c
	}
}

// add appends one bucket; the exposition lists them in ascending order.
func (h *Histogram) add(le string, v float64) {
	b, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
	if err != nil {
		return
	}
	h.Bounds = append(h.Bounds, b)
	h.Counts = append(h.Counts, v)
}

var errSample = errors.New("malformed sample")

// parseSample splits `name{k="v",…} value` into its parts; label values
// are unescaped (\\, \" and \n).
func parseSample(line string) (name string, labels map[string]string, value float64, err error) {
	labels = map[string]string{}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", nil, 0, errSample
	}
	name, rest := line[:i], line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for !strings.HasPrefix(rest, "}") {
			k, after, ok := strings.Cut(rest, `="`)
			if !ok {
				return "", nil, 0, errSample
			}
			var val strings.Builder
			j := 0
			for ; j < len(after) && after[j] != '"'; j++ {
				c := after[j]
				if c == '\\' && j+1 < len(after) {
					j++
					if c = after[j]; c == 'n' {
						c = '\n'
					}
				}
				val.WriteByte(c)
			}
			if j == len(after) {
				return "", nil, 0, errSample
			}
			labels[k] = val.String()
			rest = strings.TrimPrefix(after[j+1:], ",")
		}
		rest = rest[1:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, errSample
	}
	value, err = strconv.ParseFloat(fields[0], 64)
	return name, labels, value, err
}

// Quantile estimates the q-quantile (0 < q < 1) of the observations
// between an earlier reading prev and h, interpolating linearly inside a
// bucket as Prometheus' histogram_quantile does. ok is false when no
// observation fell between them.
func (h Histogram) Quantile(prev Histogram, q float64) (v float64, ok bool) {
	n := len(h.Counts)
	if n == 0 {
		return 0, false
	}
	delta := func(i int) float64 {
		if len(prev.Counts) == n {
			return h.Counts[i] - prev.Counts[i]
		}
		return h.Counts[i]
	}
	total := delta(n - 1)
	if total <= 0 {
		return 0, false
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i := range n {
		c := delta(i)
		if c >= rank {
			upper := h.Bounds[i]
			if i == n-1 {
				return lower, true // in the +Inf bucket: the last finite bound
			}
			if c == below {
				return upper, true
			}
			return lower + (upper-lower)*(rank-below)/(c-below), true
		}
		lower, below = h.Bounds[i], c
	}
	return lower, true
}
