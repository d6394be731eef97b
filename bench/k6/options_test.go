package k6check

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// executors are k6's scenario executors with their required and optional fields (k6 docs,
// "Scenarios > Executors"); every executor also takes the common fields below.
var executors = map[string]struct{ required, optional []string }{
	"shared-iterations":     {nil, []string{"vus", "iterations", "maxDuration"}},
	"per-vu-iterations":     {nil, []string{"vus", "iterations", "maxDuration"}},
	"constant-vus":          {[]string{"duration"}, []string{"vus"}},
	"ramping-vus":           {[]string{"stages"}, []string{"startVUs", "gracefulRampDown"}},
	"constant-arrival-rate": {[]string{"rate", "duration", "preAllocatedVUs"}, []string{"timeUnit", "maxVUs"}},
	"ramping-arrival-rate":  {[]string{"stages", "preAllocatedVUs"}, []string{"startRate", "timeUnit", "maxVUs"}},
	"externally-controlled": {[]string{"duration"}, []string{"vus", "maxVUs"}},
}

var commonScenarioFields = []string{"executor", "startTime", "gracefulStop", "exec", "env", "tags", "options"}

// metricTypes are k6's built-in metrics (k6 docs, "Metrics reference") and their types.
var metricTypes = map[string]string{
	"checks": "rate", "data_received": "counter", "data_sent": "counter", "dropped_iterations": "counter",
	"iteration_duration": "trend", "iterations": "counter", "vus": "gauge", "vus_max": "gauge",
	"http_reqs": "counter", "http_req_failed": "rate", "http_req_blocked": "trend",
	"http_req_connecting": "trend", "http_req_tls_handshaking": "trend", "http_req_sending": "trend",
	"http_req_waiting": "trend", "http_req_receiving": "trend", "http_req_duration": "trend",
}

// aggregations are the threshold aggregation methods allowed per metric type.
var aggregations = map[string]*regexp.Regexp{
	"counter": regexp.MustCompile(`^(count|rate)$`),
	"gauge":   regexp.MustCompile(`^value$`),
	"rate":    regexp.MustCompile(`^rate$`),
	"trend":   regexp.MustCompile(`^(avg|min|max|med|p\((\d+(\.\d+)?)\))$`),
}

var (
	// thresholdKey is "metric" or "metric{tag:value}".
	thresholdKey = regexp.MustCompile(`^(\w+)(\{[^{}]+\})?$`)
	// thresholdExpr is k6's threshold grammar: "<aggregation> <operator> <number>".
	thresholdExpr = regexp.MustCompile(`^\s*(\w+(?:\([\d.]+\))?)\s*(<=|>=|<|>|===|==|!=)\s*(-?\d+(?:\.\d+)?)\s*$`)
	scenarioName  = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)
)

// topLevel are the options keys the scripts may set: a typo in any other key fails the check.
var topLevel = []string{"scenarios", "thresholds", "summaryTrendStats", "discardResponseBodies", "tags", "userAgent"}

// checkOptions validates an exported options object the way k6 would on start, returning every
// problem found.
func checkOptions(opts map[string]any) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for k := range opts {
		if !slices.Contains(topLevel, k) {
			bad("options.%s: not an option these scripts use", k)
		}
	}
	scenarios, _ := opts["scenarios"].(map[string]any)
	if len(scenarios) == 0 {
		bad("options.scenarios: missing (the executors are the point of these scripts)")
	}
	for name, v := range scenarios {
		sc, _ := v.(map[string]any)
		if !scenarioName.MatchString(name) {
			bad("scenario %q: name must match %s", name, scenarioName)
		}
		ex, ok := executors[fmt.Sprint(sc["executor"])]
		if !ok {
			bad("scenario %s: unknown executor %v", name, sc["executor"])
			continue
		}
		for _, f := range ex.required {
			if _, ok := sc[f]; !ok {
				bad("scenario %s: %v needs %s", name, sc["executor"], f)
			}
		}
		for f, fv := range sc {
			switch {
			case !slices.Contains(ex.required, f) && !slices.Contains(ex.optional, f) && !slices.Contains(commonScenarioFields, f):
				bad("scenario %s: %v has no field %s", name, sc["executor"], f)
			case f == "duration" || f == "timeUnit" || f == "maxDuration" || f == "gracefulStop" || f == "startTime":
				if !isDuration(fv) {
					bad("scenario %s: %s=%v is not a duration", name, f, fv)
				}
			case f == "rate" || f == "preAllocatedVUs" || f == "maxVUs" || f == "vus" || f == "iterations":
				if n, ok := fv.(int64); !ok || n < 1 {
					bad("scenario %s: %s=%v is not a positive integer", name, f, fv)
				}
			case f == "stages":
				stages, _ := fv.([]any)
				if len(stages) == 0 {
					bad("scenario %s: stages is empty", name)
				}
				for i, st := range stages {
					st, _ := st.(map[string]any)
					if n, ok := st["target"].(int64); !ok || n < 0 || !isDuration(st["duration"]) || len(st) != 2 {
						bad("scenario %s: stage %d = %v, want {duration, target >= 0}", name, i, st)
					}
				}
			}
		}
		pre, _ := sc["preAllocatedVUs"].(int64)
		if most, ok := sc["maxVUs"].(int64); ok && most < pre {
			bad("scenario %s: maxVUs %d < preAllocatedVUs %d", name, most, pre)
		}
	}
	thresholds, _ := opts["thresholds"].(map[string]any)
	for key, v := range thresholds {
		m := thresholdKey.FindStringSubmatch(key)
		typ := ""
		if m != nil {
			typ = metricTypes[m[1]]
		}
		if typ == "" {
			bad("threshold %q: not a k6 built-in metric", key)
			continue
		}
		list, _ := v.([]any)
		if len(list) == 0 {
			bad("threshold %q: want a non-empty list", key)
		}
		for _, t := range list {
			expr, _ := t.(string)
			if obj, isObj := t.(map[string]any); isObj { // {threshold, abortOnFail, delayAbortEval}
				expr, _ = obj["threshold"].(string)
			}
			if err := checkThreshold(typ, expr); err != nil {
				bad("threshold %q: %v: %v", key, t, err)
			}
		}
	}
	if stats, ok := opts["summaryTrendStats"].([]any); ok {
		for _, st := range stats {
			if s, _ := st.(string); !aggregations["trend"].MatchString(s) {
				bad("summaryTrendStats: %v is not a trend statistic", st)
			}
		}
	}
	return errs
}

// checkThreshold parses one threshold expression for a metric of type typ.
func checkThreshold(typ, expr string) error {
	m := thresholdExpr.FindStringSubmatch(expr)
	if m == nil {
		return fmt.Errorf("%q is not <aggregation> <op> <number>", expr)
	}
	a := aggregations[typ].FindStringSubmatch(m[1])
	if a == nil {
		return fmt.Errorf("%s is not an aggregation of a %s metric", m[1], typ)
	}
	if len(a) > 2 && a[2] != "" { // p(N)
		if p, _ := strconv.ParseFloat(a[2], 64); p < 0 || p > 100 {
			return fmt.Errorf("percentile %s out of 0..100", a[2])
		}
	}
	return nil
}

// isDuration accepts what k6 accepts for a duration: a Go-style duration string ("30s", "1m30s").
func isDuration(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := time.ParseDuration(s)
	return err == nil
}
