package admin

import (
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/sluicehq/sluice/observe"
)

// allow answers 405 unless r's method is one of methods (GET implies HEAD).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || m == http.MethodGet && r.Method == http.MethodHead {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method not allowed; use "+strings.Join(methods, " or "))
	return false
}

// healthz: 200 {"status":"ok"} while the process runs.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if allow(w, r, http.MethodGet) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// readyz: 200 {"status":"ready"}, or 503 {"status":"not ready",
// "reason":"…"} while starting or draining, so a load balancer stops
// sending traffic before the listener goes away. "checks" lists the
// dependencies registered with observe.AddCheck, when there are any.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	body := map[string]any{"status": "ready"}
	if cs := observe.Checks(); len(cs) > 0 {
		// Dependencies' standing (the Redis of a cluster rate limit):
		// shown, not judged; each says how it copes when degraded.
		body["checks"] = cs
	}
	if err := s.gw.Ready(); err != nil {
		body["status"], body["reason"] = "not ready", err.Error()
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// config: {"file","loaded_at","routes","clusters","middleware","config":{…}}
// with the running config, defaults filled in and secrets redacted.
func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	run := s.gw.Running()
	writeJSON(w, http.StatusOK, struct {
		summary
		Config any `json:"config"`
	}{summarize(run), redact(configTree(run.Config))})
}

// routes: {"routes":[routeView…]}.
func (s *Server) routes(w http.ResponseWriter, r *http.Request) {
	if allow(w, r, http.MethodGet) {
		writeJSON(w, http.StatusOK, map[string]any{"routes": routeViews(s.gw.Running().Config)})
	}
}

// clusters: {"clusters":[clusterView…]}.
func (s *Server) clusters(w http.ResponseWriter, r *http.Request) {
	if allow(w, r, http.MethodGet) {
		writeJSON(w, http.StatusOK, map[string]any{"clusters": clusterViews(s.gw.Running().Snapshot)})
	}
}

// reloadAnswer is POST /reload's 200 answer.
type reloadAnswer struct {
	Status string  `json:"status"` // "reloaded"
	Config summary `json:"config"`
	// RestartRequired names the keys whose change waits for a restart;
	// always present, [] when none.
	RestartRequired []string `json:"restart_required"`
}

// reloadFailure is POST /reload's 409/422 answer.
type reloadFailure struct {
	Error  string      `json:"error"`
	Errors []errorItem `json:"errors,omitempty"`
}

// reload: POST only. 200 reloadAnswer, or 422 reloadFailure listing every
// problem with file:line:column (409 without a config file); the running
// config is untouched on failure.
func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed; use POST")
		return
	}
	res, err := s.gw.Reload()
	if err != nil {
		writeJSON(w, reloadStatus(err), reloadFailure{
			Error:  "config rejected; still serving the previous config: " + firstLine(err),
			Errors: errorItems(err),
		})
		return
	}
	writeJSON(w, http.StatusOK, reloadAnswer{Status: "reloaded", Config: summarize(res.Running), RestartRequired: orEmpty(res.RestartRequired)})
}

// firstLine is the first line of err's message, for the one-line summary.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// metrics: Prometheus text of VictoriaMetrics' default set, process and Go
// runtime metrics included.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = observe.WritePrometheus(w)
}

// servePprof serves net/http/pprof's handlers; the package's own
// registration on http.DefaultServeMux is never served.
func servePprof(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/debug/pprof/") {
	case "cmdline":
		pprof.Cmdline(w, r)
	case "profile":
		pprof.Profile(w, r)
	case "symbol":
		pprof.Symbol(w, r)
	case "trace":
		pprof.Trace(w, r)
	default:
		pprof.Index(w, r) // the index and the named profiles (heap, goroutine, …)
	}
}
