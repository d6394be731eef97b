package demo

// DEMO ONLY. This file plays an identity provider for the quickstart, so
// that its jwt-protected admin route can be tried with nothing else
// installed: a key pair made at start and kept in memory, its public half
// served as a JWK Set, and an endpoint that hands anyone who asks a signed
// token for any subject and role. That last part is exactly what a real
// identity provider must never do: it authenticates nobody. Never point a
// real gateway at it; use your identity provider's jwks_url instead.

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// Paths of the demo identity provider on every demo upstream.
const (
	// JWKSPath serves the public key as a JWK Set (RFC 7517), the document
	// the quickstart's jwt middleware fetches (jwks_url).
	JWKSPath = "/.well-known/jwks.json"
	// TokenPath mints a demo token: GET /demo/token?sub=alice&role=admin
	// answers the token as text/plain.
	TokenPath = "/demo/token"
)

// Demo token settings.
const (
	// IssuerName is the iss of every demo token (the quickstart's jwt
	// middleware requires it).
	IssuerName = "sluice-demo"
	// TokenTTL is how long a demo token is valid: short, so one pasted
	// into a terminal history soon means nothing.
	TokenTTL = 15 * time.Minute
	// maxClaim bounds sub and role.
	maxClaim = 64
)

// Issuer is the demo identity provider: an Ed25519 key pair (EdDSA tokens)
// that lives as long as the process. Safe for concurrent use.
type Issuer struct {
	kid  string
	priv ed25519.PrivateKey
	jwks []byte
	now  func() time.Time
}

// NewIssuer makes a fresh key pair. now is the clock of iat/exp; nil means
// time.Now.
func NewIssuer(now func() time.Time) (*Issuer, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	is := &Issuer{kid: "demo-" + hex.EncodeToString(id[:]), priv: priv, now: now}
	is.jwks, err = json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": is.kid,
		"x": base64.RawURLEncoding.EncodeToString(pub),
	}}})
	return is, err
}

// processIssuer is shared by every demo upstream of the process, so a
// token minted by one verifies against the JWK Set of any other.
var processIssuer = sync.OnceValues(func() (*Issuer, error) { return NewIssuer(nil) })

// KID is the key ID in the JWK Set and in every token's header.
func (is *Issuer) KID() string { return is.kid }

// JWKS is the JWK Set document holding the public key.
func (is *Issuer) JWKS() []byte { return is.jwks }

// Mint signs a token for sub with role, issued now and expiring TokenTTL
// later. sub and role must pass validClaim.
func (is *Issuer) Mint(sub, role string) (string, error) {
	now := is.now()
	tok := gojwt.NewWithClaims(gojwt.SigningMethodEdDSA, gojwt.MapClaims{
		"iss": IssuerName, "sub": sub, "role": role,
		"iat": now.Unix(), "exp": now.Add(TokenTTL).Unix(),
	})
	tok.Header["kid"] = is.kid
	return tok.SignedString(is.priv)
}

// serveJWKS answers the JWK Set.
func (is *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(is.jwks)
}

// serveToken answers a token for the sub and role query parameters
// (defaults alice and user) as text/plain, so `TOKEN=$(curl -s ...)`
// works.
func (is *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sub, role := q.Get("sub"), q.Get("role")
	if sub == "" {
		sub = "alice"
	}
	if role == "" {
		role = "user"
	}
	if !validClaim(sub) || !validClaim(role) {
		writeError(w, http.StatusBadRequest, "sub and role: 1-64 letters, digits, or . _ @ -")
		return
	}
	tok, err := is.Mint(sub, role)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not sign: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(tok + "\n"))
}

// validClaim keeps demo claims to characters that need no escaping in a
// header or a shell.
func validClaim(s string) bool {
	if s == "" || len(s) > maxClaim {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
