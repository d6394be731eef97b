// Package demo is the built-in demo upstream the quickstart config points at,
// so a first run answers requests with no other service installed. It is a
// plain net/http server: it serves people trying Sluice, not benchmarks.
//
// Every demo upstream also plays a DEMO-ONLY identity provider (identity.go):
// a JWK Set of a key pair made at start (JWKSPath) and a token endpoint that
// signs a token for whatever subject and role it is asked (TokenPath), so the
// quickstart's jwt-protected admin route can be tried at once. It
// authenticates nobody and must never back a real deployment.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// Serve listens on addr and serves the demo API until ctx ends. It returns
// once the listener is up, or with the listen error.
func Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(addr), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the process is exiting or the port vanished; nothing to tell
		}
	}()
	return nil
}

// Handler serves the demo identity provider's two paths (JWKSPath,
// TokenPath) and answers every other request with JSON describing what
// reached the upstream, which is what a user wants to see through a
// gateway: the path after rewriting, the forwarding headers, the request ID
// and the identity the gateway vouched for (X-User-*, X-Consumer-ID).
func Handler(name string) http.Handler {
	desc := describe(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || (r.URL.Path != JWKSPath && r.URL.Path != TokenPath) {
			desc.ServeHTTP(w, r)
			return
		}
		is, err := processIssuer()
		switch {
		case err != nil:
			writeError(w, http.StatusInternalServerError, err.Error())
		case r.URL.Path == JWKSPath:
			is.serveJWKS(w, r)
		default:
			is.serveToken(w, r)
		}
	})
}

// describe answers with JSON describing the request.
func describe(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{
			"upstream":          name,
			"method":            r.Method,
			"path":              r.URL.Path,
			"query":             r.URL.RawQuery,
			"host":              r.Host,
			"x_request_id":      r.Header.Get("X-Request-ID"),
			"x_forwarded_for":   r.Header.Get("X-Forwarded-For"),
			"x_forwarded_host":  r.Header.Get("X-Forwarded-Host"),
			"x_forwarded_proto": r.Header.Get("X-Forwarded-Proto"),
			"via":               r.Header.Get("Via"),
		}
		// Set only by the gateway's auth middleware (it strips client copies).
		for _, h := range [...]string{"X-User-ID", "X-User-Role", "X-User-Email", "X-Consumer-ID"} {
			if v := r.Header.Get(h); v != "" {
				out[strings.ReplaceAll(strings.ToLower(h), "-", "_")] = v
			}
		}
		if id, ok := strings.CutPrefix(r.URL.Path, "/api/users/"); ok {
			out["user"] = map[string]string{"id": id, "name": "user " + id}
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	})
}
