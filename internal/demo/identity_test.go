package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/auth"
)

// verifierFor builds the verifier the quickstart's jwt middleware amounts
// to, from a JWK Set document.
func verifierFor(t *testing.T, jwks []byte) *auth.Verifier {
	t.Helper()
	set, skipped, err := auth.ParseJWKS(jwks, auth.JWKOptions{})
	if err != nil || len(skipped) > 0 {
		t.Fatalf("JWKS %s: %v %v", jwks, err, skipped)
	}
	v, err := auth.NewVerifier(auth.Policy{Algorithms: []string{"EdDSA"}, Issuer: IssuerName}, set)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestMintedTokensVerify: a token from Mint passes Sluice's own verifier
// with the issuer's JWK Set, carries sub, role and iss, and expires
// TokenTTL after it was issued.
func TestMintedTokensVerify(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	is, err := NewIssuer(func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	tok, err := is.Mint("alice", "admin")
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, is.JWKS())
	got, err := v.Verify([]byte(tok), at.UnixNano())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got.Claims["sub"] != "alice" || got.Claims["role"] != "admin" || got.Claims["iss"] != IssuerName || got.Header.KID != is.KID() {
		t.Errorf("claims %v, header %+v", got.Claims, got.Header)
	}
	if got.Expires != at.Add(TokenTTL).UnixNano() {
		t.Errorf("expires at %v, want %v", time.Unix(0, got.Expires), at.Add(TokenTTL))
	}
	if _, err := v.Verify([]byte(tok), at.Add(TokenTTL+time.Minute).UnixNano()); err == nil {
		t.Error("a demo token still verifies after its TTL")
	}
	// Another issuer (another process) has another key.
	other, _ := NewIssuer(nil)
	if _, err := verifierFor(t, other.JWKS()).Verify([]byte(tok), at.UnixNano()); err == nil {
		t.Error("a token verified against another issuer's key")
	}
}

// TestHandlerServesIdentityProvider: through Handler, the token endpoint
// and the JWK Set fit together, whichever demo upstream (Handler) serves
// each of them, since the key is the process's.
func TestHandlerServesIdentityProvider(t *testing.T) {
	a, b := httptest.NewServer(Handler("demo-1")), httptest.NewServer(Handler("demo-2"))
	defer a.Close()
	defer b.Close()

	resp, jwks := get(t, a.URL+JWKSPath)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("JWKS: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	v := verifierFor(t, []byte(jwks))

	cases := []struct {
		name, query string
		status      int
		sub, role   string // claims expected when status is 200
	}{
		{"sub and role", "?sub=alice&role=admin", 200, "alice", "admin"},
		// Defaults: a plain user.
		{"defaults", "", 200, "alice", "user"},
		{"email-like sub", "?sub=bob@example.com&role=user", 200, "bob@example.com", "user"},
		// Claims that would need escaping in a header are refused.
		{"space", "?sub=a%20b", 400, "", ""},
		{"CR LF", "?role=admin%0d%0aX-User-ID:%20root", 400, "", ""},
		{"too long", "?sub=" + strings.Repeat("a", 65), 400, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, b.URL+TokenPath+tc.query)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status != 200 {
				var e map[string]string
				if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] == "" {
					t.Errorf("error body %q", body)
				}
				return
			}
			if resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("headers %v", resp.Header)
			}
			tok, err := v.Verify([]byte(strings.TrimSuffix(body, "\n")), time.Now().UnixNano())
			if err != nil {
				t.Fatalf("token %q: %v", body, err)
			}
			if tok.Claims["sub"] != tc.sub || tok.Claims["role"] != tc.role {
				t.Errorf("claims %v", tok.Claims)
			}
		})
	}

	// Other paths and methods are still described, identity included.
	req, _ := http.NewRequest("POST", a.URL+TokenPath, nil)
	req.Header.Set("X-User-ID", "alice")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp2.Body).Decode(&d); err != nil || d["path"] != TokenPath || d["x_user_id"] != "alice" {
		t.Errorf("POST %s described as %v (%v)", TokenPath, d, err)
	}
}
