package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync/atomic"
)

// tokenCheck holds the admin bearer token as its SHA-256, swapped
// atomically on reload. Comparing fixed-size digests in constant time
// reveals neither the token's bytes nor its length through timing.
type tokenCheck struct {
	sum atomic.Pointer[[sha256.Size]byte] // nil = no token required
}

// set replaces the token; "" turns the check off. Any goroutine.
func (t *tokenCheck) set(tok string) {
	if tok == "" {
		t.sum.Store(nil)
		return
	}
	sum := sha256.Sum256([]byte(tok))
	t.sum.Store(&sum)
}

// required reports whether a token is configured. Any goroutine.
func (t *tokenCheck) required() bool { return t.sum.Load() != nil }

// allows reports whether r may use the API: no token is configured, or r
// carries `Authorization: Bearer <token>`. Any goroutine.
func (t *tokenCheck) allows(r *http.Request) bool {
	want := t.sum.Load()
	if want == nil {
		return true
	}
	got, ok := bearer(r.Header.Get("Authorization"))
	return ok && t.matches(got)
}

// matches reports whether got is the configured token (false when none
// is). Any goroutine.
func (t *tokenCheck) matches(got string) bool {
	want := t.sum.Load()
	if want == nil {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

// bearer extracts the credentials of a Bearer authorization header; the
// scheme is case-insensitive (RFC 9110 §11.1).
func bearer(h string) (string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	return cred, cred != ""
}
