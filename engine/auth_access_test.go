package engine

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// ---- 3. 401s through sockets ----

// rsaPEM writes key's public half as PEM into dir and returns the path and
// the PEM (the bytes an RS->HS confusion attack uses as the HMAC secret).
func rsaPEM(t *testing.T, dir string, key *rsa.PrivateKey) (string, []byte) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	path := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, p
}

// TestUnauthenticatedAnswers sends every kind of bad token on one
// keep-alive connection to an RS256 route: each gets its 401 (message and
// RFC 6750 challenge) and the connection keeps serving; Authorization is
// not forwarded upstream, unless keep_authorization.
func TestUnauthenticatedAnswers(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path, pubPEM := rsaPEM(t, t.TempDir(), key)
	rs := func(claims gojwt.MapClaims) string {
		s, err := gojwt.NewWithClaims(gojwt.SigningMethodRS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := rs(userClaims("alice", "user"))
	parts := strings.Split(valid, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	forgedPayload := b64([]byte(fmt.Sprintf(`{"sub":"admin","role":"admin","exp":%d}`, time.Now().Add(time.Hour).Unix())))
	confused, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, userClaims("admin", "admin")).SignedString(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	expired := userClaims("alice", "user")
	expired["exp"] = time.Now().Add(-time.Hour).Unix()

	up := startUpstream(t, echoHandler("a"))
	mw := fmt.Sprintf(`middleware:
  auth: {type: jwt, algorithms: [RS256], public_key_file: %q}
  keep: {type: jwt, algorithms: [RS256], public_key_file: %q, keep_authorization: true}
`, path, path)
	g := startGateway(t, oneCluster(up.addr, mw, authRoute("api", "/api/*", "auth")+authRoute("keep", "/keep/*", "keep")), 1)

	const bare, invalid = "Bearer", `Bearer error="invalid_token"`
	cases := []struct {
		name      string
		headers   []string
		msg       string
		challenge string
	}{
		// RFC 6750 §3.1: no error code when no credentials were sent.
		{"no token", nil, "Authentication required", bare},
		{"not a bearer token", []string{"Authorization: Basic YWxpY2U6c2VjcmV0"}, "Authentication required", bare},
		{"expired", []string{"Authorization: Bearer " + rs(expired)}, "Token expired", invalid},
		// A real signature over another payload: the claims were edited.
		{"bad signature", []string{"Authorization: Bearer " + parts[0] + "." + forgedPayload + "." + parts[2]}, "Invalid token", invalid},
		{"alg none", []string{"Authorization: Bearer " + b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + forgedPayload + "."}, "Invalid token", invalid},
		// HS256 "signed" with the RSA public key as the HMAC secret.
		{"RS to HS confusion", []string{"Authorization: Bearer " + confused}, "Invalid token", invalid},
		{"two Authorization headers", []string{"Authorization: Bearer " + valid, "Authorization: Bearer " + valid}, "Invalid token", invalid},
		{"garbage", []string{"Authorization: Bearer not.a.jwt"}, "Invalid token", invalid},
	}
	rc := dialRaw(t, g.addr)
	for _, tc := range cases {
		id := strings.ReplaceAll(tc.name, " ", "-")
		resp, body := rc.authGet("/api/me", append([]string{"X-Request-ID: " + id}, tc.headers...)...)
		t.Run(tc.name, func(t *testing.T) {
			expectGatewayError(t, resp, body, 401, tc.msg, id, false)
			if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}
	if up.conns.Load() != 0 {
		t.Errorf("the upstream saw %d connections; refused requests must not reach it", up.conns.Load())
	}

	// The same connection still serves, and the token stays at the gateway.
	resp, body := rc.authGet("/api/me", "Authorization: Bearer "+valid)
	if resp.StatusCode != 200 {
		t.Fatalf("valid token after the 401s: %d %s", resp.StatusCode, body)
	}
	if e := authEcho(t, body); e.Headers["Authorization"] != "" || e.Headers["X-User-Id"] != "alice" {
		t.Errorf("upstream headers: %v", e.Headers)
	}
	resp, body = rc.authGet("/keep/me", "Authorization: Bearer "+valid)
	if resp.StatusCode != 200 {
		t.Fatalf("keep_authorization route: %d %s", resp.StatusCode, body)
	}
	if e := authEcho(t, body); e.Headers["Authorization"] != "Bearer "+valid {
		t.Errorf("keep_authorization: upstream Authorization %q", e.Headers["Authorization"])
	}
}

// ---- 4. require ----

// TestRequireRole: a route with [auth, admin_only] answers 403 to a user's
// token, 401 without one, and forwards an admin's.
func TestRequireRole(t *testing.T) {
	up := startUpstream(t, echoHandler("a"))
	mw := hsAuthConfig(t, "  admin_only: {type: require, claims: {role: admin}}\n")
	g := startGateway(t, oneCluster(up.addr, mw, authRoute("admin", "/admin/*", "auth, admin_only")), 1)
	rc := dialRaw(t, g.addr)

	resp, body := rc.authGet("/admin/users", "Authorization: Bearer "+hsToken(t, userClaims("bob", "user")))
	expectGatewayError(t, resp, body, 403, "Forbidden", "", false)
	if body != fmt.Sprintf("{\"error\":\"Forbidden\",\"request_id\":\"%s\"}\n", resp.Header.Get("X-Request-ID")) {
		t.Errorf("403 body %q", body)
	}
	resp, body = rc.authGet("/admin/users")
	expectGatewayError(t, resp, body, 401, "Authentication required", "", false)
	resp, body = rc.authGet("/admin/users", "Authorization: Bearer "+hsToken(t, userClaims("alice", "admin")))
	if resp.StatusCode != 200 {
		t.Fatalf("admin: %d %s", resp.StatusCode, body)
	}
	if e := authEcho(t, body); e.URI != "/admin/users" || e.Headers["X-User-Role"] != "admin" {
		t.Errorf("upstream saw %s %v", e.URI, e.Headers)
	}
}

// ---- 5. api_key ----

func keySHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestAPIKeyConsumers: keys in the header or the query string name their
// consumer upstream (X-Consumer-ID, which a client cannot forge), the key
// header is not forwarded, and a rate_limit keyed by consumer after
// api_key gives each consumer its own bucket.
func TestAPIKeyConsumers(t *testing.T) {
	const mobileKey, partnerKey = "mobile-key-5f1c9a", "partner-key-77be02"
	up := startUpstream(t, echoHandler("a"))
	mw := fmt.Sprintf(`middleware:
  keys:
    type: api_key
    query: api_key
    consumers:
      - {id: mobile, key_sha256: %s}
      - {id: partner, key_sha256: %s}
  per_consumer: {type: rate_limit, key: consumer, rate: 2, per: 1m}
`, keySHA256(mobileKey), keySHA256(partnerKey))
	routes := authRoute("keyed", "/k/*", "keys") + authRoute("limited", "/lim/*", "keys, per_consumer")
	g := startGateway(t, oneCluster(up.addr, mw, routes), 1)
	rc := dialRaw(t, g.addr)

	cases := []struct {
		name     string
		path     string
		headers  []string
		consumer string // "" = expect 401 with msg
		msg      string
	}{
		{"header", "/k/a", []string{"X-API-Key: " + mobileKey}, "mobile", ""},
		// A forged consumer header is replaced by the key's consumer.
		{"header, forged consumer", "/k/a", []string{"X-Consumer-ID: partner", "X-API-Key: " + mobileKey}, "mobile", ""},
		{"query", "/k/a?api_key=" + partnerKey + "&x=1", nil, "partner", ""},
		{"no key", "/k/a", []string{"X-Consumer-ID: mobile"}, "", "Authentication required"},
		{"unknown key", "/k/a", []string{"X-API-Key: nope"}, "", "Invalid API key"},
		{"unknown key in the query", "/k/a?api_key=nope", nil, "", "Invalid API key"},
	}
	for _, tc := range cases {
		resp, body := rc.authGet(tc.path, tc.headers...)
		if tc.consumer == "" {
			expectGatewayError(t, resp, body, 401, tc.msg, "", false)
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
		e := authEcho(t, body)
		if e.Headers["X-Consumer-Id"] != tc.consumer || e.Headers["X-Api-Key"] != "" {
			t.Errorf("%s: upstream headers %v", tc.name, e.Headers)
		}
	}

	// Two requests a minute per consumer: mobile's third is refused, while
	// partner still has its own two.
	for i, want := range []struct {
		key    string
		status int
	}{{mobileKey, 200}, {mobileKey, 200}, {mobileKey, 429}, {partnerKey, 200}, {partnerKey, 200}, {partnerKey, 429}} {
		resp, body := rc.authGet("/lim/x", "X-API-Key: "+want.key)
		if resp.StatusCode != want.status {
			t.Fatalf("request %d: %d %s, want %d", i, resp.StatusCode, body, want.status)
		}
		if want.status == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("request %d: 429 without Retry-After", i)
		}
	}
}

// ---- 6. audit_log ----

// auditEntry is the part of an audit line the test checks.
type auditEntry struct {
	RequestID string `json:"request_id"`
	Route     string `json:"route"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	User      string `json:"user"`
	ClientIP  string `json:"client_ip"`
}

// TestAuditLogOfAdminRoute: every request to an [auth, admin_only, audit]
// route, allowed or refused by either filter, becomes one JSON line in the
// audit file, with the user, method, path, status and request ID.
func TestAuditLogOfAdminRoute(t *testing.T) {
	file := filepath.Join(t.TempDir(), "audit.log")
	up := startUpstream(t, echoHandler("a"))
	mw := hsAuthConfig(t, fmt.Sprintf("  admin_only: {type: require, claims: {role: admin}}\n  audit: {type: audit_log, path: %q}\n", file))
	g := startGateway(t, oneCluster(up.addr, mw, authRoute("admin", "/admin/*", "auth, admin_only, audit")), 1)
	rc := dialRaw(t, g.addr)

	want := map[string]auditEntry{
		"req-ok":        {Method: "DELETE", Path: "/admin/users/7", Status: 200, User: "alice"},
		"req-forbidden": {Method: "GET", Path: "/admin/users", Status: 403, User: "bob"},
		"req-anon":      {Method: "GET", Path: "/admin/keys", Status: 401, User: ""},
	}
	send := func(method, path, id, tok string) int {
		auth := ""
		if tok != "" {
			auth = "Authorization: Bearer " + tok + "\r\n"
		}
		rc.send(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: gw.test\r\nX-Request-ID: %s\r\n%s\r\n", method, path, id, auth))
		resp, _ := rc.readResponse(method)
		return resp.StatusCode
	}
	for id, tok := range map[string]string{
		"req-ok":        hsToken(t, userClaims("alice", "admin")),
		"req-forbidden": hsToken(t, userClaims("bob", "user")),
		"req-anon":      "",
	} {
		w := want[id]
		if got := send(w.Method, w.Path, id, tok); got != w.Status {
			t.Fatalf("%s: status %d, want %d", id, got, w.Status)
		}
	}

	// The writer flushes every 200ms: wait for the three lines.
	var lines []string
	eventually(t, 3*time.Second, "three audit lines", func() bool {
		data, _ := os.ReadFile(file)
		lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		return len(data) > 0 && len(lines) >= 3
	})
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		var got auditEntry
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		w, ok := want[got.RequestID]
		if !ok {
			t.Errorf("unexpected audit line %s", line)
			continue
		}
		delete(want, got.RequestID)
		w.RequestID, w.Route, w.ClientIP = got.RequestID, "admin", "127.0.0.1"
		if got != w {
			t.Errorf("audit line %s\nwant %+v", line, w)
		}
	}
	for id := range want {
		t.Errorf("no audit line for %s", id)
	}
}
