package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A browser cannot put the bearer token on a page load, so the dashboard
// trades it once for a session cookie (POST /dashboard/login). The cookie
// is:
//
//   - HttpOnly: page scripts never see it (nor the token, which is not
//     kept anywhere in the browser);
//   - SameSite=Strict and Path=/dashboard: no other site's page, link or
//     form makes the browser send it, and it opens only the dashboard's
//     endpoints, not /config or /debug/pprof;
//   - short-lived (sessionTTL), renewed while the page polls;
//   - signed with a key derived from the token and a per-process secret,
//     so changing admin_token_env (a reload) or restarting ends every
//     session, and a stolen cookie says nothing about the token.
//
// The reload button's POST must also carry the session's CSRF token in a
// header (csrfHeader), which a cross-site form cannot set, on top of
// http.CrossOriginProtection's Sec-Fetch-Site/Origin check that every
// unsafe admin request passes.

const (
	sessionCookie = "sluice_dashboard"
	csrfHeader    = "X-Sluice-CSRF"
	sessionTTL    = time.Hour
)

// processSecret keys the session MACs; new at every start.
var processSecret = func() []byte {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return b
}()

// sessionKey is the MAC key for the current token ("" when none).
func (s *Server) sessionKey() []byte {
	m := hmac.New(sha256.New, processSecret)
	if sum := s.token.sum.Load(); sum != nil {
		m.Write(sum[:])
	}
	return m.Sum(nil)
}

func mac(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession returns a cookie value: expiry, nonce, MAC.
func (s *Server) newSession(now time.Time) string {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	exp := strconv.FormatInt(now.Add(sessionTTL).Unix(), 10)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return exp + "." + n + "." + mac(s.sessionKey(), "session", exp, n)
}

// session checks r's cookie; it returns the session's nonce and expiry.
func (s *Server) session(r *http.Request, now time.Time) (nonce string, exp time.Time, ok bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", time.Time{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return "", time.Time{}, false
	}
	want := mac(s.sessionKey(), "session", parts[0], parts[1])
	if subtle.ConstantTimeCompare([]byte(want), []byte(parts[2])) != 1 {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || now.Unix() >= sec {
		return "", time.Time{}, false
	}
	return parts[1], time.Unix(sec, 0), true
}

// csrfToken is the value the page must echo in csrfHeader: bound to the
// session (nonce "" without a token, where there are no sessions).
func (s *Server) csrfToken(nonce string) string { return mac(s.sessionKey(), "csrf", nonce) }

// setSession issues a session cookie (or clears it with value "").
func setSession(w http.ResponseWriter, value string) {
	c := &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/dashboard",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL / time.Second),
	}
	if value == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// dashAuth says who r is on a dashboard endpoint: bearer (the token in
// the header, as the CLI sends it), a valid session cookie (nonce), or
// nobody. Without a token everybody is let in, as on the rest of the API.
type dashAuth int

const (
	authNone dashAuth = iota
	authBearer
	authSession
	authOpen // no token configured
)

func (s *Server) dashAuth(r *http.Request, now time.Time) (dashAuth, string) {
	if !s.token.required() {
		return authOpen, ""
	}
	if r.Header.Get("Authorization") != "" {
		if s.token.allows(r) {
			return authBearer, ""
		}
		return authNone, ""
	}
	if nonce, _, ok := s.session(r, now); ok {
		return authSession, nonce
	}
	return authNone, ""
}

// csrfOK reports whether r carries the CSRF token of its session. Bearer
// requests need none: a browser never adds that header by itself.
func (s *Server) csrfOK(r *http.Request, auth dashAuth, nonce string) bool {
	if auth == authBearer {
		return true
	}
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfToken(nonce))) == 1
}
