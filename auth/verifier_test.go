package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func claimsAt(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": "user-7", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
}

func TestVerifyEveryAlgorithm(t *testing.T) {
	ks := testKeys(t)
	for _, alg := range Algorithms() {
		tk := ks[alg]
		tok := sign(t, tk, claimsAt(t0), nil)
		// The same token through a static set (kid ignored) and a JWKS-style
		// set (kid looked up).
		for name, set := range map[string]*KeySet{
			"static": NewStaticKeySet(tk.verifyKey(t)),
			"kid":    NewKeySet(ks["HS256"].verifyKey(t), tk.verifyKey(t)),
		} {
			v, err := NewVerifier(Policy{Algorithms: []string{alg}}, set)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify([]byte(tok), t0.UnixNano())
			if err != nil {
				t.Errorf("%s/%s: %v", alg, name, err)
				continue
			}
			if got.Header.Alg != alg || got.Claims["sub"] != "user-7" || got.Expires != t0.Add(time.Hour).UnixNano() {
				t.Errorf("%s/%s: token = %+v", alg, name, got)
			}
		}
	}
}

func TestVerifyClaims(t *testing.T) {
	tk := testKeys(t)["ES256"]
	now := t0.UnixNano()
	base := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := claimsAt(t0)
		c["iss"] = "https://id.example.com"
		c["aud"] = "api"
		c["role"] = "admin"
		if edit != nil {
			edit(c)
		}
		return c
	}
	policy := Policy{
		Algorithms:     []string{"ES256"},
		Issuer:         "https://id.example.com",
		Audience:       []string{"api", "api2"},
		Leeway:         30 * time.Second,
		RequiredClaims: []string{"role"},
	}
	v, err := NewVerifier(policy, NewStaticKeySet(tk.verifyKey(t)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		claims jwt.MapClaims
		err    error
	}{
		{"valid", base(nil), nil},
		{"aud array with one match", base(func(c jwt.MapClaims) { c["aud"] = []string{"other", "api2"} }), nil},
		// exp is exclusive, the leeway extends it.
		{"expired within leeway", base(func(c jwt.MapClaims) { c["exp"] = t0.Add(-29 * time.Second).Unix() }), nil},
		{"expired at leeway", base(func(c jwt.MapClaims) { c["exp"] = t0.Add(-30 * time.Second).Unix() }), ErrExpired},
		{"expired long ago", base(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Hour).Unix() }), ErrExpired},
		{"fractional exp", base(func(c jwt.MapClaims) { c["exp"] = float64(t0.Unix()) - 29.5 }), nil},
		{"nbf within leeway", base(func(c jwt.MapClaims) { c["nbf"] = t0.Add(30 * time.Second).Unix() }), nil},
		{"not yet valid", base(func(c jwt.MapClaims) { c["nbf"] = t0.Add(31 * time.Second).Unix() }), ErrNotYetValid},
		{"issued in the future", base(func(c jwt.MapClaims) { c["iat"] = t0.Add(time.Minute).Unix() }), ErrIssuedInFuture},
		{"wrong issuer", base(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" }), ErrIssuer},
		{"issuer prefix", base(func(c jwt.MapClaims) { c["iss"] = "https://id.example.com/" }), ErrIssuer},
		{"no issuer", base(func(c jwt.MapClaims) { delete(c, "iss") }), ErrIssuer},
		{"issuer not a string", base(func(c jwt.MapClaims) { c["iss"] = 1 }), ErrIssuer},
		{"wrong audience", base(func(c jwt.MapClaims) { c["aud"] = "web" }), ErrAudience},
		{"no audience", base(func(c jwt.MapClaims) { delete(c, "aud") }), ErrAudience},
		{"audience array without match", base(func(c jwt.MapClaims) { c["aud"] = []string{"web"} }), ErrAudience},
		{"missing required claim", base(func(c jwt.MapClaims) { delete(c, "role") }), ErrMissingClaim},
		{"null required claim", base(func(c jwt.MapClaims) { c["role"] = nil }), ErrMissingClaim},
		{"no exp", base(func(c jwt.MapClaims) { delete(c, "exp") }), ErrMissingClaim},
		{"exp as string", base(func(c jwt.MapClaims) { c["exp"] = "1900000000" }), ErrClaimType},
		{"nbf as bool", base(func(c jwt.MapClaims) { c["nbf"] = true }), ErrClaimType},
		{"exp far in the future", base(func(c jwt.MapClaims) { c["exp"] = 1e300 }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify([]byte(sign(t, tk, tc.claims, nil)), now)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	tk := testKeys(t)["HS256"]
	secret := tk.priv.([]byte)
	v, _ := NewVerifier(Policy{Algorithms: []string{"HS256"}}, NewStaticKeySet(tk.verifyKey(t)))
	good := sign(t, tk, claimsAt(t0), nil)
	hs := hmacSign(secret, crypto.SHA256)
	cases := []struct {
		name, tok string
		err       error
	}{
		{"empty", "", ErrMalformed},
		{"two segments", good[:strings.LastIndexByte(good, '.')], ErrMalformed},
		{"four segments", good + ".x", ErrMalformed},
		{"newline inside", good[:10] + "\n" + good[10:], ErrMalformed},
		{"padding", good + "=", ErrMalformed},
		{"too long", good + strings.Repeat("A", MaxTokenBytes), ErrMalformed},
		{"header not JSON", rawToken("nope", `{}`, hs), ErrMalformed},
		{"header array", rawToken(`["HS256"]`, `{}`, hs), ErrMalformed},
		{"no alg", rawToken(`{"typ":"JWT"}`, `{}`, hs), ErrAlgorithm},
		{"alg not a string", rawToken(`{"alg":256}`, `{}`, hs), ErrAlgorithm},
		// Exact member names: "ALG" is not "alg".
		{"alg in capitals", rawToken(`{"ALG":"HS256"}`, `{}`, hs), ErrAlgorithm},
		{"kid not a string", rawToken(`{"alg":"HS256","kid":7}`, `{}`, hs), ErrMalformed},
		{"crit", rawToken(`{"alg":"HS256","crit":["exp"],"exp":1}`, `{"exp":4000000000}`, hs), ErrMalformed},
		{"b64 false (RFC 7797)", rawToken(`{"alg":"HS256","b64":false,"crit":["b64"]}`, `{"exp":4000000000}`, hs), ErrMalformed},
		{"claims not an object", rawToken(`{"alg":"HS256"}`, `[1]`, hs), ErrMalformed},
		{"claims with trailing data", rawToken(`{"alg":"HS256"}`, `{"exp":4000000000} {}`, hs), ErrMalformed},
		{"bad signature", good[:len(good)-2] + "AA", ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := v.Verify([]byte(tc.tok), t0.UnixNano()); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestAlgorithmConfusion covers the classic ways to make a verifier use
// the wrong algorithm or key.
func TestAlgorithmConfusion(t *testing.T) {
	ks := testKeys(t)
	rsaPub := &rsaKey.PublicKey
	der, _ := x509.MarshalPKIXPublicKey(rsaPub)
	pubPEM := pemOf(t, "PUBLIC KEY", der)
	pemKey, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	claims := `{"sub":"attacker","exp":4000000000}`

	rsOnly, _ := NewVerifier(Policy{Algorithms: []string{"RS256"}}, NewStaticKeySet(pemKey))
	// Even a policy that (wrongly) allows HS256 next to RS256 cannot use
	// the RSA key as an HMAC secret: the key type must fit the alg.
	mixed, _ := NewVerifier(Policy{Algorithms: []string{"RS256", "HS256"}}, NewStaticKeySet(pemKey))
	p384 := ks["ES384"].verifyKey(t)
	es256, _ := NewVerifier(Policy{Algorithms: []string{"ES256", "ES384"}}, NewKeySet(p384))
	pinned := ks["RS256"].verifyKey(t)
	pinned.Alg = "PS256"
	pinnedV, _ := NewVerifier(Policy{Algorithms: []string{"RS256", "PS256"}}, NewKeySet(pinned))

	cases := []struct {
		name string
		v    *Verifier
		tok  string
		err  error
	}{
		{"RS->HS with the PEM as secret", rsOnly, rawToken(`{"alg":"HS256","typ":"JWT"}`, claims, hmacSign(pubPEM, crypto.SHA256)), ErrAlgorithm},
		{"RS->HS with HS256 allowed", mixed, rawToken(`{"alg":"HS256","typ":"JWT"}`, claims, hmacSign(pubPEM, crypto.SHA256)), ErrKeyMismatch},
		{"RS->HS with the DER as secret", mixed, rawToken(`{"alg":"HS256"}`, claims, hmacSign(der, crypto.SHA256)), ErrKeyMismatch},
		{"alg none", rsOnly, rawToken(`{"alg":"none"}`, claims, func(string) []byte { return nil }), ErrAlgorithm},
		{"alg None", rsOnly, rawToken(`{"alg":"None"}`, claims, func(string) []byte { return nil }), ErrAlgorithm},
		{"alg not listed", rsOnly, sign(t, ks["RS384"], claimsAt(t0), nil), ErrAlgorithm},
		{"ES256 against a P-384 key", es256, rawToken(`{"alg":"ES256","kid":"kid-ES384"}`, claims, func(string) []byte { return make([]byte, 64) }), ErrKeyMismatch},
		{"key alg pins PS256", pinnedV, sign(t, ks["RS256"], claimsAt(t0), nil), ErrKeyMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.v.Verify([]byte(tc.tok), t0.UnixNano()); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

// TestKIDInjection: kid is only a map key, so path traversal or SQL in it
// does nothing but miss.
func TestKIDInjection(t *testing.T) {
	tk := testKeys(t)["HS256"]
	jwks, _ := NewVerifier(Policy{Algorithms: []string{"HS256"}}, NewKeySet(tk.verifyKey(t)))
	static, _ := NewVerifier(Policy{Algorithms: []string{"HS256"}}, NewStaticKeySet(tk.verifyKey(t)))
	for _, kid := range []string{"../../../../dev/null", "/dev/null", "' OR '1'='1", "kid-HS256\x00", "kid-HS256 ", ""} {
		// Signed with an empty key, as /dev/null would give.
		tok := rawToken(`{"alg":"HS256","kid":"`+strings.ReplaceAll(kid, "\x00", `\u0000`)+`"}`, `{"exp":4000000000}`, hmacSign(nil, crypto.SHA256))
		if _, err := jwks.Verify([]byte(tok), t0.UnixNano()); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("kid %q (JWKS set): err = %v, want ErrUnknownKey", kid, err)
		}
		if _, err := static.Verify([]byte(tok), t0.UnixNano()); !errors.Is(err, ErrSignature) {
			t.Errorf("kid %q (static set): err = %v, want ErrSignature", kid, err)
		}
	}
}

// TestRemoteKeyHeadersIgnored: jku, x5u and an embedded jwk are never
// fetched or trusted.
func TestRemoteKeyHeadersIgnored(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	ks := testKeys(t)
	real := ks["RS256"]
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attacker := &testKey{alg: "RS256", priv: other, pub: &other.PublicKey, kid: real.kid}
	v, _ := NewVerifier(Policy{Algorithms: []string{"RS256"}}, NewKeySet(real.verifyKey(t)))

	// A genuine token with jku/x5u pointing at the server still verifies
	// (the headers are ignored) and costs the server nothing.
	genuine := sign(t, real, claimsAt(t0), map[string]any{"jku": srv.URL + "/jwks", "x5u": srv.URL + "/cert"})
	if _, err := v.Verify([]byte(genuine), t0.UnixNano()); err != nil {
		t.Errorf("genuine token with jku/x5u: %v", err)
	}
	// Signed by the attacker's key, which the headers point at and embed.
	forged := sign(t, attacker, claimsAt(t0), map[string]any{
		"jku": srv.URL + "/jwks", "x5u": srv.URL + "/cert",
		"jwk": map[string]any{"kty": "RSA", "kid": real.kid, "e": "AQAB",
			"n": base64.RawURLEncoding.EncodeToString(other.N.Bytes())},
	})
	if _, err := v.Verify([]byte(forged), t0.UnixNano()); !errors.Is(err, ErrSignature) {
		t.Errorf("forged token: err = %v, want ErrSignature", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the jku/x5u server got %d requests, want 0", n)
	}
}

func TestKIDlessTokens(t *testing.T) {
	ks := testKeys(t)
	a, b := ks["ES256"].verifyKey(t), ks["ES384"].verifyKey(t)
	one, _ := NewVerifier(Policy{Algorithms: []string{"ES256"}}, NewKeySet(a, b))
	tok := sign(t, ks["ES256"], claimsAt(t0), map[string]any{"kid": nil})
	if _, err := one.Verify([]byte(tok), t0.UnixNano()); err != nil {
		t.Errorf("one key fits ES256: %v", err)
	}
	a2 := ks["ES256"].verifyKey(t)
	a2.ID = "other"
	two, _ := NewVerifier(Policy{Algorithms: []string{"ES256"}}, NewKeySet(a, a2))
	if _, err := two.Verify([]byte(tok), t0.UnixNano()); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("two keys fit: err = %v, want ErrKeyNotFound", err)
	}
	empty, _ := NewVerifier(Policy{Algorithms: []string{"ES256"}}, NewKeySet())
	if _, err := empty.Verify([]byte(tok), t0.UnixNano()); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("empty set: err = %v, want ErrUnknownKey", err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	set := NewKeySet()
	for name, p := range map[string]Policy{
		"no algorithms":   {},
		"alg none":        {Algorithms: []string{"none"}},
		"unknown alg":     {Algorithms: []string{"RS1"}},
		"negative leeway": {Algorithms: []string{"RS256"}, Leeway: -1},
	} {
		if _, err := NewVerifier(p, set); !errors.Is(err, ErrPolicy) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := NewVerifier(Policy{Algorithms: []string{"RS256"}}, nil); !errors.Is(err, ErrPolicy) {
		t.Errorf("nil keys: err = %v", err)
	}
}

func TestMessage(t *testing.T) {
	if Message(ErrExpired) != MsgExpired || Message(ErrSignature) != MsgInvalid || Message(ErrNotYetValid) != MsgInvalid {
		t.Error("Message maps wrongly")
	}
}
