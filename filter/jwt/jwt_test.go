package jwt

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sluicehq/sluice/filter"
)

const identityHeaders = "X-User-Email: a@example.com\r\nX-User-ID: user-7\r\nX-User-Role: admin\r\n"

// TestEveryAlgorithm: a token of each algorithm passes a filter configured
// for it, through a PEM file or a secret in the environment.
func TestEveryAlgorithm(t *testing.T) {
	dir := t.TempDir()
	for alg, s := range testSigners(t) {
		t.Run(alg, func(t *testing.T) {
			src := "public_key_file: " + alg + ".pem"
			if s.pubPEM == nil {
				t.Setenv("JWT_SECRET_"+alg, s.secret)
				src = "secret_env: JWT_SECRET_" + alg
			} else {
				writeFile(t, dir, alg+".pem", s.pubPEM)
			}
			f := mustBuild(t, dir, "  a: {type: jwt, algorithms: ["+alg+"], "+src+"}\n", "a")
			x := exchange(nil, "", bearer(s.token(t, claims(nil), nil)))
			got := run(f, x)
			if got.verdict != filter.Continue || got.upstream != identityHeaders || !got.stripped {
				t.Errorf("got %+v", got)
			}
			if string(x.Subject) != "user-7" || x.Claims["role"] != "admin" {
				t.Errorf("subject %q claims %v", x.Subject, x.Claims)
			}
		})
	}
}

// TestRejections: each way a token can be wrong gets the right 401.
func TestRejections(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()

	dir := t.TempDir()
	ss := testSigners(t)
	rs := ss["RS256"]
	writeFile(t, dir, "rs.pem", rs.pubPEM)
	f := mustBuild(t, dir, `  a:
    type: jwt
    algorithms: [RS256]
    public_key_file: rs.pem
    issuer: https://id.example.com
    audience: [api, api2]
    required_claims: [role]
`, "a")
	good := func(extra map[string]any) map[string]any {
		m := map[string]any{"iss": "https://id.example.com", "aud": "api"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	// RS->HS: HMAC over the token with the PEM public key as the secret.
	confused := func() string {
		in := b64(`{"alg":"HS256","typ":"JWT"}`) + "." + b64(`{"sub":"x","iss":"https://id.example.com","aud":"api","role":"admin","exp":4102444800}`)
		m := hmac.New(crypto.SHA256.New, rs.pubPEM)
		m.Write([]byte(in))
		return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}()
	none := b64(`{"alg":"none"}`) + "." + b64(`{"sub":"x","iss":"https://id.example.com","aud":"api","role":"admin","exp":4102444800}`) + "."
	valid := rs.token(t, claims(good(nil)), nil)

	const (
		bare    = "WWW-Authenticate: Bearer\r\n"
		invalid = "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
	)
	cases := []struct {
		name    string
		headers []string
		msg     string // "" = accepted
		www     string
	}{
		{"valid", []string{bearer(valid)}, "", ""},
		{"valid with lower-case scheme", []string{"authorization: bearer " + valid}, "", ""},
		{"no Authorization", nil, "Authentication required", bare},
		{"Basic credentials", []string{"Authorization: Basic dXNlcjpwYXNz"}, "Authentication required", bare},
		{"empty bearer", []string{"Authorization: Bearer "}, "Authentication required", bare},
		{"two Authorization headers", []string{bearer(valid), bearer(valid)}, "Invalid token", invalid},
		{"garbage", []string{bearer("not-a-token")}, "Invalid token", invalid},
		{"expired", []string{bearer(rs.token(t, claims(good(map[string]any{"exp": now.Add(-time.Hour).Unix()})), nil))}, "Token expired", invalid},
		{"expired within leeway", []string{bearer(rs.token(t, claims(good(map[string]any{"exp": now.Add(-10 * time.Second).Unix()})), nil))}, "", ""},
		{"not yet valid", []string{bearer(rs.token(t, claims(good(map[string]any{"nbf": now.Add(time.Hour).Unix()})), nil))}, "Invalid token", invalid},
		{"issued in the future", []string{bearer(rs.token(t, claims(good(map[string]any{"iat": now.Add(time.Hour).Unix()})), nil))}, "Invalid token", invalid},
		{"wrong issuer", []string{bearer(rs.token(t, claims(good(map[string]any{"iss": "https://evil.example.com"})), nil))}, "Invalid token", invalid},
		{"wrong audience", []string{bearer(rs.token(t, claims(good(map[string]any{"aud": "web"})), nil))}, "Invalid token", invalid},
		{"missing required claim", []string{bearer(rs.token(t, claims(good(map[string]any{"role": nil})), nil))}, "Invalid token", invalid},
		{"missing exp", []string{bearer(rs.token(t, claims(good(map[string]any{"exp": nil})), nil))}, "Invalid token", invalid},
		{"kid path traversal", []string{bearer(rs.token(t, claims(good(nil)), map[string]any{"kid": "../../../../dev/null"}))}, "", ""},
		{"kid path traversal, HS256 with empty key", []string{bearer(hs256Empty(`{"alg":"HS256","kid":"../../../../dev/null"}`))}, "Invalid token", invalid},
		{"kid SQL injection", []string{bearer(hs256Empty(`{"alg":"HS256","kid":"x' UNION SELECT 'key"}`))}, "Invalid token", invalid},
		{"jku and x5u ignored", []string{bearer(rs.token(t, claims(good(nil)), map[string]any{"jku": srv.URL, "x5u": srv.URL}))}, "", ""},
		{"jku to a forged key", []string{bearer(ss["PS256"].token(t, claims(good(nil)), map[string]any{"alg": "RS256", "jku": srv.URL}))}, "Invalid token", invalid},
		{"RS->HS confusion", []string{bearer(confused)}, "Invalid token", invalid},
		{"alg none", []string{bearer(none)}, "Invalid token", invalid},
		{"ES256 token", []string{bearer(ss["ES256"].token(t, claims(good(nil)), nil))}, "Invalid token", invalid},
		{"CRLF in a mapped claim", []string{bearer(rs.token(t, claims(good(map[string]any{"email": "a@example.com\r\nX-User-Role: root"})), nil))}, "Invalid token", invalid},
		{"NUL in a mapped claim", []string{bearer(rs.token(t, claims(good(map[string]any{"role": "admin\x00"})), nil))}, "Invalid token", invalid},
		// Control bytes in claims nobody maps to a header are harmless.
		{"CRLF in an unmapped claim", []string{bearer(rs.token(t, claims(good(map[string]any{"note": "a\r\nb"})), nil))}, "", ""},
	}
	// Why each refusal happened: in sluice_jwt_rejections_total and a
	// debug log line, never in the answer.
	reasons := map[string]string{
		"no Authorization": "missing", "Basic credentials": "missing", "empty bearer": "missing",
		"two Authorization headers": "ambiguous", "garbage": "malformed", "expired": "expired",
		"not yet valid": "not_yet_valid", "issued in the future": "issued_in_future",
		"wrong issuer": "bad_issuer", "wrong audience": "bad_audience",
		"missing required claim": "missing_claim", "missing exp": "missing_claim",
		"kid path traversal, HS256 with empty key": "algorithm", "kid SQL injection": "algorithm",
		"jku to a forged key": "bad_signature", "RS->HS confusion": "algorithm", "alg none": "algorithm",
		"ES256 token": "algorithm", "CRLF in a mapped claim": "unsafe_claim", "NUL in a mapped claim": "unsafe_claim",
	}
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			counter := func(reason string) uint64 {
				return metrics.GetOrCreateCounter(`sluice_jwt_rejections_total{middleware="a",reason="` + reason + `"}`).Get()
			}
			reason := reasons[tc.name]
			before := counter(reason)
			f.rejects.second.Store(0) // a fresh debug-line budget per case (all run at the same now)
			got := run(f, exchange(nil, "", tc.headers...))
			if tc.msg == "" {
				if got.verdict != filter.Continue {
					t.Fatalf("rejected: %+v", got)
				}
				if logs.Len() > 0 {
					t.Errorf("an accepted token logged: %s", logs.String())
				}
				return
			}
			if got.verdict != filter.Respond || got.status != 401 || got.message != tc.msg || got.response != tc.www || got.upstream != "" {
				t.Errorf("got %+v, want 401 %q with %q", got, tc.msg, tc.www)
			}
			if reason == "" {
				t.Fatalf("no reason listed for %q", tc.name)
			}
			if n := counter(reason) - before; n != 1 {
				t.Errorf("sluice_jwt_rejections_total{reason=%q} moved by %d, want 1", reason, n)
			}
			if line := logs.String(); !strings.Contains(line, "level=DEBUG msg=\"jwt token rejected\" middleware=a reason="+reason+" err=") {
				t.Errorf("debug log lacks the reason %s:\n%s", reason, line)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the jku/x5u server got %d requests", n)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// hs256Empty signs with an empty HMAC key (what /dev/null would give).
func hs256Empty(header string) string {
	in := b64(header) + "." + b64(`{"sub":"x","exp":4102444800}`)
	m := hmac.New(crypto.SHA256.New, nil)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestTokenSources(t *testing.T) {
	dir := t.TempDir()
	s := testSigners(t)["HS256"]
	t.Setenv("SECRET", s.secret)
	tok := s.token(t, claims(nil), nil)
	cases := []struct {
		name, cfg, query string
		headers          []string
		ok, stripped     bool
	}{
		{"header", "", "", []string{bearer(tok)}, true, true},
		{"header kept", ", keep_authorization: true", "", []string{bearer(tok)}, true, false},
		{"cookie", ", token_from: 'cookie:session'", "", []string{"Cookie: a=1; session=" + tok}, true, false},
		{"second Cookie header", ", token_from: 'cookie:session'", "", []string{"Cookie: a=1", "Cookie: session=" + tok}, true, false},
		{"quoted cookie", ", token_from: 'cookie:session'", "", []string{"Cookie: a=1;session=\"" + tok + "\" "}, true, false},
		{"cookie of another case", ", token_from: 'cookie:session'", "", []string{"Cookie: Session=" + tok}, false, false},
		{"cookie missing", ", token_from: 'cookie:session'", "", []string{bearer(tok)}, false, false},
		{"query", ", token_from: 'query:access_token'", "x=1&access_token=" + tok, nil, true, false},
		{"query missing", ", token_from: 'query:access_token'", "x=1", []string{bearer(tok)}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustBuild(t, dir, "  a: {type: jwt, algorithms: [HS256], secret_env: SECRET"+tc.cfg+"}\n", "a")
			got := run(f, exchange(nil, tc.query, tc.headers...))
			if (got.verdict == filter.Continue) != tc.ok || got.stripped != tc.stripped {
				t.Errorf("got %+v", got)
			}
			if !tc.ok && got.message != "Authentication required" {
				t.Errorf("message %q", got.message)
			}
		})
	}
}

func TestClaimsToHeaders(t *testing.T) {
	dir := t.TempDir()
	s := testSigners(t)["HS256"]
	t.Setenv("SECRET", s.secret)
	f := mustBuild(t, dir, `  a:
    type: jwt
    algorithms: [HS256]
    secret_env: SECRET
    claims_to_headers: {sub: X-User-ID, id: X-User-Num, groups: X-User-Groups, ratio: X-User-Ratio, admin: X-User-Admin, org: X-User-Org, nothing: X-User-Nothing}
`, "a")
	tok := s.token(t, claims(map[string]any{
		"sub":     "u1",
		"id":      9007199254740993, // beyond float64's exact integers
		"groups":  []any{"eng", "ops", 3},
		"ratio":   1e21,
		"admin":   true,
		"org":     map[string]any{"name": "acme"},
		"nothing": nil,
	}), nil)
	got := run(f, exchange(nil, "", bearer(tok)))
	want := "X-User-Admin: true\r\nX-User-Groups: eng,ops,3\r\nX-User-ID: u1\r\nX-User-Num: 9007199254740993\r\nX-User-Org: {\"name\":\"acme\"}\r\nX-User-Ratio: 1000000000000000000000\r\n"
	if got.verdict != filter.Continue || got.upstream != want {
		t.Errorf("upstream headers:\n%s\nwant:\n%s", got.upstream, want)
	}
	// {} sends none.
	f = mustBuild(t, dir, "  b: {type: jwt, algorithms: [HS256], secret_env: SECRET, claims_to_headers: {}}\n", "b")
	if got := run(f, exchange(nil, "", bearer(tok))); got.verdict != filter.Continue || got.upstream != "" {
		t.Errorf("claims_to_headers {}: %+v", got)
	}
}

// TestCacheHit: a cached token is not verified again, answers with the
// same identity, and stops answering at exp.
func TestCacheHit(t *testing.T) {
	dir := t.TempDir()
	s := testSigners(t)["RS256"]
	writeFile(t, dir, "k.pem", s.pubPEM)
	f := mustBuild(t, dir, "  a: {type: jwt, algorithms: [RS256], public_key_file: k.pem, leeway: 0s}\n", "a")
	tok := s.token(t, claims(nil), nil)
	first := run(f, exchange(nil, "", bearer(tok)))
	if n := f.cache.Len(now.UnixNano()); n != 1 {
		t.Fatalf("%d cache entries after one token", n)
	}
	second := run(f, exchange(nil, "", bearer(tok)))
	if first != second || second.verdict != filter.Continue {
		t.Errorf("hit differs: %+v vs %+v", first, second)
	}
	// At exp the entry is dead and verification says expired.
	x := exchange(nil, "", bearer(tok))
	x.Now = now.Add(time.Hour).UnixNano()
	if got := run(f, x); got.message != "Token expired" {
		t.Errorf("at exp: %+v", got)
	}
	// A tampered copy of a cached token is not a hit.
	bad := tok[:len(tok)-3] + strings.Map(func(r rune) rune { return r ^ 1 }, tok[len(tok)-3:])
	if got := run(f, exchange(nil, "", bearer(bad))); got.message != "Invalid token" {
		t.Errorf("tampered token: %+v", got)
	}
}

func TestCacheHitAllocs(t *testing.T) {
	dir := t.TempDir()
	s := testSigners(t)["HS256"]
	t.Setenv("SECRET", s.secret)
	f := mustBuild(t, dir, "  a: {type: jwt, algorithms: [HS256], secret_env: SECRET}\n", "a")
	x := exchange(nil, "", bearer(s.token(t, claims(nil), nil)))
	req, at := x.Req, x.Now
	if got := run(f, x); got.verdict != filter.Continue {
		t.Fatal(got)
	}
	n := testing.AllocsPerRun(1000, func() {
		x.Reset(nil)
		x.Req, x.Now = req, at
		if f.Request(x) != filter.Continue {
			panic("rejected")
		}
	})
	if n != 0 {
		t.Errorf("cache hit: %v allocations per request", n)
	}
}

// TestRejectionLogBudget: a flood of bad tokens writes at most
// debugLinesPerSecond debug lines a second (they are written on the event
// loop), while the metric counts every one.
func TestRejectionLogBudget(t *testing.T) {
	t.Setenv("JWT_BUDGET_SECRET", "a-secret-for-the-log-budget-test-0123456789")
	f := mustBuild(t, t.TempDir(), "  flood: {type: jwt, algorithms: [HS256], secret_env: JWT_BUDGET_SECRET}\n", "flood")
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)
	counter := metrics.GetOrCreateCounter(`sluice_jwt_rejections_total{middleware="flood",reason="malformed"}`)
	before := counter.Get()
	for sec := range 2 {
		for range 50 {
			x := exchange(nil, "", bearer("not-a-token"))
			x.Now = now.Add(time.Duration(sec) * time.Second).UnixNano()
			run(f, x)
		}
	}
	if n := strings.Count(logs.String(), "jwt token rejected"); n != 2*debugLinesPerSecond {
		t.Errorf("%d debug lines over two seconds, want %d", n, 2*debugLinesPerSecond)
	}
	if n := counter.Get() - before; n != 100 {
		t.Errorf("metric counted %d of 100 refusals", n)
	}
}
