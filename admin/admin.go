// Package admin is Sluice's admin API: a small net/http server, separate
// from the gnet event loops, that shows what the gateway is running and
// lets an operator reload it.
//
//	GET  /healthz        process up (never needs the token)
//	GET  /readyz         200 when serving, 503 while starting or draining
//	GET  /config         the running config, secrets redacted
//	GET  /routes         routes: name, match, cluster, middleware
//	GET  /clusters       targets: health, breaker, in-flight, ejections
//	POST /reload         re-read the config file (as SIGHUP does)
//	GET  /metrics        Prometheus text (VictoriaMetrics' default set)
//	GET  /debug/pprof/   Go profiles, only with Options.Pprof
//	GET  /dashboard      the live dashboard (/ redirects there); see dashboard.go
//
// Answers are JSON (except /metrics and pprof); errors are
// {"error":"…"}. Without a token, a request whose Host is not a loopback
// name or address gets 403 (DNS-rebinding protection, host.go). The package knows nothing of signals, flags or the engine:
// cmd/sluice implements Gateway and wires it up.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
)

// Gateway is the running process as the admin API sees it. Every method
// may be called from any goroutine, concurrently.
type Gateway interface {
	// Running returns the config and snapshot new requests are served
	// with. Both are non-nil once the admin server is started.
	Running() *Running
	// Ready returns nil when the gateway should get traffic (config
	// loaded, listener up, not draining), else why not.
	Ready() error
	// Reload re-reads the config file and swaps it in, the same path as
	// SIGHUP. On error the previous config keeps serving; errors that name
	// a place in the file are config.Errors, and ErrNothingToReload means
	// there is no file.
	Reload() (*ReloadResult, error)
	// LastReload is the outcome of the latest reload attempt, whatever
	// asked for it (SIGHUP, POST /reload, a file change); nil before
	// the first.
	LastReload() *ReloadReport
}

// ReloadReport is how a reload attempt ended.
type ReloadReport struct {
	At      time.Time
	Trigger string // "SIGHUP", "POST /reload", "file change"
	Err     error  // nil when the new config applied
}

// Running is one installed configuration. It is never mutated once
// published.
type Running struct {
	// Config is the config as loaded, flags applied.
	Config *config.Config
	// Snapshot is the compiled form, with the live cluster state.
	Snapshot *pipeline.Snapshot
	// LoadedAt is when it was installed.
	LoadedAt time.Time
	// Version counts installed configs: 1 for the one loaded at start,
	// +1 for each reload that applied.
	Version uint64
}

// ReloadResult is what a successful reload installed.
type ReloadResult struct {
	// Running is the configuration now serving.
	Running *Running
	// RestartRequired lists the config keys (e.g. "listen",
	// "server.loops") whose new values only take effect after a restart;
	// their old values are still in force. Empty when none changed.
	RestartRequired []string
}

// Options configure a Server. The zero value of each field is the default
// named in its comment.
type Options struct {
	// Gateway is the process the API shows; required.
	Gateway Gateway
	// Token, when not "", is the bearer token every endpoint but /healthz
	// requires. Default "": no token. SetToken changes it later.
	Token string
	// Pprof serves net/http/pprof under /debug/pprof/. Default false.
	Pprof bool
	// Logger receives the listener's errors. Default slog.Default().
	Logger *slog.Logger
}

// Server is the admin API: an http.Handler, plus Start and Close for the
// listener it owns. Create it with New.
type Server struct {
	gw    Gateway
	pprof bool
	log   *slog.Logger
	token tokenCheck
	csrf  *http.CrossOriginProtection
	srv   *http.Server
	live  live // the dashboard's shared document
}

// New returns the admin API for opts.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{gw: opts.Gateway, pprof: opts.Pprof, log: opts.Logger, csrf: http.NewCrossOriginProtection()}
	s.token.set(opts.Token)
	return s
}

// SetToken replaces the bearer token; "" turns the check off. A reload
// calls it, so a changed admin_token_env applies without a restart. Any
// goroutine.
func (s *Server) SetToken(tok string) { s.token.set(tok) }

// ServeHTTP answers one admin request. Any goroutine.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == "/healthz" {
		// A liveness probe must work without the secret.
		s.healthz(w, r)
		return
	}
	if !s.token.required() && !hostAllowed(r) {
		// DNS-rebinding protection; see host.go.
		writeError(w, http.StatusForbidden, "Host refused: without admin_token_env the admin API answers only loopback names and addresses in Host (localhost, 127.0.0.1, [::1])")
		return
	}
	if isDashboard(r.URL.Path) {
		// The page and its assets load without the token (a browser
		// cannot send it on navigation); its data and actions need the
		// token or a session cookie bought with it (session.go).
		if err := s.csrf.Check(r); err != nil {
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		s.serveDashboard(w, r)
		return
	}
	if !s.token.allows(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice-admin"`)
		writeError(w, http.StatusUnauthorized, "unauthorized: send Authorization: Bearer <token>")
		return
	}
	// A browser page must not make a reload happen through the operator's
	// loopback listener (CSRF): unsafe cross-site requests are refused.
	if err := s.csrf.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	switch p := r.URL.Path; {
	case p == "/readyz":
		s.readyz(w, r)
	case p == "/config":
		s.config(w, r)
	case p == "/routes":
		s.routes(w, r)
	case p == "/clusters":
		s.clusters(w, r)
	case p == "/reload":
		s.reload(w, r)
	case p == "/metrics":
		s.metrics(w, r)
	case s.pprof && strings.HasPrefix(p, "/debug/pprof/"):
		servePprof(w, r)
	case s.pprof && p == "/debug/pprof":
		http.Redirect(w, r, "/debug/pprof/", http.StatusMovedPermanently)
	default:
		writeError(w, http.StatusNotFound, "no such admin endpoint")
	}
}

// Start listens on addr (host:port; port 0 picks one) and serves in the
// background. It returns the bound address. Call it once.
func (s *Server) Start(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.pprof {
		// /debug/pprof/profile and /trace stream for ?seconds=N.
		s.srv.WriteTimeout = 0
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Close stops the listener, letting requests in progress finish until ctx
// ends, then closes what is left. Safe to call without Start.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, s.srv.Close())
	}
	return nil
}
