package observe

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Every family /metrics exposes has # HELP and # TYPE lines, so scrapers
// and promtool see counters, gauges and histograms rather than untyped
// samples. VictoriaMetrics/metrics writes the TYPE (ExposeMetadata) but
// leaves HELP empty; WritePrometheus fills it in from help.
func init() { metrics.ExposeMetadata(true) }

// help is the HELP text of each of Sluice's families; runtimeHelp has the
// Go runtime's and the process's, and any other family gets a generic
// text naming its source.
// Keep in step with docs/METRICS.md (TestHelpMatchesMetricsDoc).
var help = map[string]string{
	"sluice_requests_total":                               "Finished requests by route, method and status class; route=\"\" for requests answered before routing (parse errors, 404, 405, 408, 413, 414, 431).",
	"sluice_request_duration_seconds":                     "Time from the request head parsed to the response finished, by route.",
	"sluice_upstream_duration_seconds":                    "Time from the request handed to an upstream connection to the response head received (retries included), by route.",
	"sluice_gateway_overhead_seconds":                     "Time from the request head parsed to the request handed to an upstream connection (routing, middleware, connection wait), by route.",
	"sluice_request_bytes_total":                          "Request head and body bytes read from clients, by route.",
	"sluice_response_bytes_total":                         "Response bytes written to clients, by route.",
	"sluice_client_connections":                           "Client connections open now.",
	"sluice_client_connections_accepted_total":            "Client connections accepted.",
	"sluice_client_connections_refused_total":             "Client connections answered 503 and closed at accept, by reason (max_connections, per_ip).",
	"sluice_upstream_connections_refused_total":           "Requests answered 503 because a new upstream connection would pass the descriptor budget.",
	"sluice_upstream_connections":                         "Upstream connections, all event loops, by cluster and state (idle, active).",
	"sluice_upstream_target_connections":                  "Upstream connections, all event loops, by cluster, target and state (idle, active).",
	"sluice_upstream_dials_total":                         "Upstream connections opened, by cluster.",
	"sluice_upstream_requests_total":                      "Requests sent upstream, by cluster and connection (reused, new).",
	"sluice_middleware_rejections_total":                  "Requests a middleware answered itself, by route, middleware, type, status and client-facing reason.",
	"sluice_jwt_rejections_total":                         "Tokens a jwt middleware refused, by middleware and internal reason (expired, bad_signature, unknown_kid, ...).",
	"sluice_access_log_dropped_total":                     "Access-log lines dropped because the sink fell behind.",
	"sluice_ratelimit_redis_up":                           "1 while a scope: cluster rate limit synchronises through Redis, 0 while it runs in its on_failure mode, by limit.",
	"sluice_ratelimit_cluster_instances":                  "Live gateway instances sharing a cluster rate limit, as last counted in Redis, by limit.",
	"sluice_ratelimit_sync_rounds_total":                  "Successful synchronisation rounds of a cluster rate limit, by limit.",
	"sluice_ratelimit_sync_errors_total":                  "Failed or timed-out synchronisation rounds of a cluster rate limit, by limit.",
	"sluice_ratelimit_sync_keys_total":                    "Keys carried by successful synchronisation rounds, by limit.",
	"sluice_ratelimit_sync_dropped_total":                 "Admitted requests left unreported to Redis because the pending table was full, by limit.",
	"sluice_ratelimit_sync_duration_seconds":              "Duration of one synchronisation round of a cluster rate limit, by limit.",
	"sluice_breaker_state":                                "Circuit breaker state of a target: 0 closed, 1 half-open, 2 open.",
	"sluice_breaker_transitions_total":                    "Circuit breaker state changes, by cluster, target and new state.",
	"sluice_health_checks_total":                          "Active health checks, by cluster, target and result.",
	"sluice_upstream_ejections_total":                     "Passive ejections of a target after failed requests in a row.",
	"sluice_config_reloads_total":                         "Config reload attempts (SIGHUP, POST /reload, file watch), by result.",
	"sluice_config_last_reload_successful":                "1 if the last config load or reload applied, 0 if it was rejected.",
	"sluice_config_last_reload_success_timestamp_seconds": "Unix time the running config was installed.",
}

// helpFor is family's HELP text.
func helpFor(family string) string {
	if h, ok := help[family]; ok {
		return h
	}
	if h, ok := runtimeHelp[family]; ok {
		return h
	}
	return genericHelp(family)
}

// genericHelp is the HELP of a family no table lists.
func genericHelp(family string) string {
	switch {
	case strings.HasPrefix(family, "go_"):
		return "Go runtime metric " + family + " (runtime/metrics, via VictoriaMetrics/metrics)."
	case strings.HasPrefix(family, "process_"):
		return "Process metric " + family + " (from /proc, via VictoriaMetrics/metrics)."
	}
	return "Metric " + family + "."
}

// WritePrometheus writes every metric of the default set, process and Go
// runtime metrics included, in the Prometheus text format with HELP and
// TYPE for each family. Any goroutine; off the hot path (it allocates).
func WritePrometheus(w io.Writer) error {
	var buf bytes.Buffer
	metrics.WritePrometheus(&buf, true)
	bw := bufio.NewWriter(w)
	for line := range bytes.Lines(buf.Bytes()) {
		if rest, ok := bytes.CutPrefix(line, []byte("# HELP ")); ok {
			name, text, _ := strings.Cut(strings.TrimSuffix(string(rest), "\n"), " ")
			if to, ok := counterNames[name]; ok {
				name = to
			}
			if text == "" {
				text = helpFor(name)
			}
			bw.WriteString("# HELP " + name + " " + escapeHelp(text) + "\n")
			continue
		}
		if bytes.HasPrefix(line, []byte("go_")) || bytes.HasPrefix(line, []byte("# TYPE go_")) {
			name, _, _ := strings.Cut(strings.TrimPrefix(string(line), "# TYPE "), " ")
			line = renameCounter(line, name)
		}
		bw.Write(line)
	}
	return bw.Flush()
}

// escapeHelp escapes a HELP text as the text format requires: backslash
// and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}
