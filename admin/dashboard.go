package admin

import (
	"embed"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// The dashboard: a page for a person, served by the admin listener.
//
//	GET  /                  redirects to /dashboard
//	GET  /dashboard         the page (static; asks for the token when needed)
//	GET  /dashboard/app.js, app.css, favicon.svg   its assets
//	GET  /dashboard/session {"token_required","authenticated"}: which to show
//	POST /dashboard/login   {"token":"…"} → session cookie (session.go)
//	POST /dashboard/logout  ends the session
//	GET  /dashboard/data    the live document (live.go); bearer or session
//	POST /dashboard/reload  as POST /reload; a session must send X-Sluice-CSRF
//
// The assets are embedded, so the page works offline and shows what this
// binary serves. The Content-Security-Policy allows scripts and styles
// from this origin only, none inline, and fetches to this origin only.

//go:embed web
var webFS embed.FS

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// isDashboard reports whether path belongs to the dashboard.
func isDashboard(path string) bool {
	return path == "/" || path == "/dashboard" || strings.HasPrefix(path, "/dashboard/")
}

func (s *Server) serveDashboard(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case "/":
		http.Redirect(w, r, "/dashboard", http.StatusFound)
	case "/dashboard":
		s.asset(w, r, "web/index.html", "text/html; charset=utf-8")
	case "/dashboard/app.js":
		s.asset(w, r, "web/app.js", "text/javascript; charset=utf-8")
	case "/dashboard/app.css":
		s.asset(w, r, "web/app.css", "text/css; charset=utf-8")
	case "/dashboard/favicon.svg":
		s.asset(w, r, "web/favicon.svg", "image/svg+xml")
	case "/dashboard/session":
		s.sessionState(w, r)
	case "/dashboard/login":
		s.login(w, r)
	case "/dashboard/logout":
		if allow(w, r, http.MethodPost) {
			setSession(w, "")
			w.WriteHeader(http.StatusNoContent)
		}
	case "/dashboard/data":
		s.dashData(w, r)
	case "/dashboard/reload":
		s.dashReload(w, r)
	default:
		writeError(w, http.StatusNotFound, "no such dashboard endpoint")
	}
}

func (s *Server) asset(w http.ResponseWriter, r *http.Request, name, ctype string) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	b, err := webFS.ReadFile(name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "asset missing from the build")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(b)
}

// sessionState tells the page whether to show the login form; it always
// answers 200, so a page without a session logs no failed request.
func (s *Server) sessionState(w http.ResponseWriter, r *http.Request) {
	if allow(w, r, http.MethodGet) {
		auth, _ := s.dashAuth(r, time.Now())
		writeJSON(w, http.StatusOK, map[string]bool{"token_required": s.token.required(), "authenticated": auth != authNone})
	}
}

// login trades the token for a session cookie. The answer carries the
// CSRF token for the reload button. Without a configured token there is
// nothing to log in to: 204, and the page goes straight on.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	if !s.token.required() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `want a JSON body {"token":"…"}`)
		return
	}
	if !s.token.matches(body.Token) {
		writeError(w, http.StatusUnauthorized, "wrong token")
		return
	}
	setSession(w, s.newSession(time.Now()))
	w.WriteHeader(http.StatusNoContent)
}

// dashData serves the shared document, renewing a session past half its
// life so an open page stays logged in while it polls.
func (s *Server) dashData(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	now := time.Now()
	auth, nonce := s.dashAuth(r, now)
	if auth == authNone {
		writeError(w, http.StatusUnauthorized, "unauthorized: log in with the admin token, or send Authorization: Bearer <token>")
		return
	}
	if auth == authSession {
		if _, exp, _ := s.session(r, now); exp.Sub(now) < sessionTTL/2 {
			v := s.newSession(now)
			setSession(w, v)
			nonce = strings.Split(v, ".")[1]
		}
	}
	w.Header().Set(csrfHeader, s.csrfToken(nonce))
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.live.get(s))
}

// dashReload is POST /reload for the page: same answers, and the
// document is rebuilt so the next poll shows the outcome.
func (s *Server) dashReload(w http.ResponseWriter, r *http.Request) {
	auth, nonce := s.dashAuth(r, time.Now())
	if auth == authNone {
		writeError(w, http.StatusUnauthorized, "unauthorized: log in with the admin token")
		return
	}
	if r.Method == http.MethodPost && !s.csrfOK(r, auth, nonce) {
		writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header")
		return
	}
	s.reload(w, r)
	s.live.invalidate()
}
