package jwt

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

func TestDecodeDefaults(t *testing.T) {
	c, err := parse(t, "/etc/sluice", "  a: {type: jwt, algorithms: [RS256], jwks_url: 'https://id.example.com/jwks'}\n")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Middleware["a"].Settings.(*Settings)
	if s.LeewayD != 30*time.Second || s.CacheSize != 10000 || s.JWKSRefresh.D() != 5*time.Minute ||
		s.Source != SourceHeader || s.Dir != "/etc/sluice" || len(s.Headers) != 3 || s.Headers[0] != (Mapping{"email", "X-User-Email"}) {
		t.Errorf("defaults: %+v", s)
	}
	c, err = parse(t, "/x", "  a: {type: jwt, algorithms: [HS256], secret_file: s, leeway: 0s, cache: 0, audience: api, token_from: 'query:t'}\n")
	if err != nil {
		t.Fatal(err)
	}
	s = c.Middleware["a"].Settings.(*Settings)
	if s.LeewayD != 0 || s.CacheSize != 0 || len(s.Audiences) != 1 || s.Source != SourceQuery || s.TokenName != "t" {
		t.Errorf("explicit zeros: %+v", s)
	}
}

func TestDecodeErrors(t *testing.T) {
	const pk = "algorithms: [RS256], public_key_file: k.pem"
	cases := []struct {
		name, inst, want string
	}{
		{"no key source", "{type: jwt, algorithms: [RS256]}", "m.yaml:2:3: middleware.a: no key source"},
		{"two key sources", "{type: jwt, algorithms: [RS256], jwks_url: 'https://x/j', public_key_file: k.pem}", "m.yaml:2:49: middleware.a.jwks_url: only one key source may be set, and public_key_file is set too"},
		{"inline secret", "{type: jwt, algorithms: [HS256], secret: hunter2}", `unknown field "secret"`},
		{"no algorithms", "{type: jwt, public_key_file: k.pem}", "middleware.a.algorithms: required"},
		{"alg none", "{type: jwt, algorithms: [none], public_key_file: k.pem}", `"none" (unsigned tokens) is never accepted`},
		{"alg case", "{type: jwt, algorithms: [rs256], public_key_file: k.pem}", `(did you mean "RS256"? names are case-sensitive)`},
		{"HS with a public key", "{type: jwt, algorithms: [RS256, HS256], public_key_file: k.pem}", "HS256 needs an HMAC secret, not public_key_file"},
		{"HS with JWKS", "{type: jwt, algorithms: [HS256], jwks_url: 'https://x/j'}", "HS256 needs an HMAC secret, not jwks_url"},
		{"RS with a secret", "{type: jwt, algorithms: [RS256], secret_env: S}", "RS256 needs a public key, but secret_env holds an HMAC secret"},
		{"refresh without JWKS", "{type: jwt, " + pk + ", jwks_refresh: 1m}", "jwks_refresh: only means something with jwks_url"},
		{"refresh too short", "{type: jwt, algorithms: [RS256], jwks_url: 'https://x/j', jwks_refresh: 10ms}", "must be at least 1s"},
		{"JWKS URL scheme", "{type: jwt, algorithms: [RS256], jwks_url: 'file:///etc/jwks'}", "jwks_url: want an absolute http:// or https:// URL"},
		{"leeway too large", "{type: jwt, " + pk + ", leeway: 1h}", "leeway: at most 5m0s"},
		{"leeway without unit", "{type: jwt, " + pk + ", leeway: 30}", `duration "30" has no unit`},
		{"negative cache", "{type: jwt, " + pk + ", cache: -1}", "cache: must be between 0 (off) and"},
		{"token_from", "{type: jwt, " + pk + ", token_from: 'bearer'}", `token_from: "bearer": want header, cookie:NAME or query:NAME`},
		{"token_from empty name", "{type: jwt, " + pk + ", token_from: 'cookie:'}", "want header, cookie:NAME or query:NAME"},
		{"keep_authorization with a cookie", "{type: jwt, " + pk + ", token_from: 'cookie:s', keep_authorization: true}", "keep_authorization: only means something with token_from: header"},
		{"header prefix", "{type: jwt, " + pk + ", claims_to_headers: {sub: X-Subject}}", `middleware.a.claims_to_headers.sub: header "X-Subject" must start with X-User-`},
		{"header name", "{type: jwt, " + pk + ", claims_to_headers: {sub: 'X-User ID'}}", `"X-User ID" is not a valid header name`},
		{"header fed twice", "{type: jwt, " + pk + ", claims_to_headers: {a: X-User-A, b: x-user-a}}", "is already fed by claim"},
		{"audience number", "{type: jwt, " + pk + ", audience: [api, 7]}", "audience: want non-empty strings"},
		{"empty required claim", "{type: jwt, " + pk + ", required_claims: ['']}", "required_claims: empty claim name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("m.yaml", []byte("middleware:\n  a: "+tc.inst+"\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %v\nwant …%s…", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	ss := testSigners(t)
	writeFile(t, dir, "rsa.pem", ss["RS256"].pubPEM)
	writeFile(t, dir, "ec.pem", ss["ES256"].pubPEM)
	writeFile(t, dir, "short.secret", []byte("tooshort-secret-value\n"))
	writeFile(t, dir, "good.secret", []byte(ss["HS512"].secret+"\r\n"))
	t.Setenv("SHORT_SECRET", "tooshort-secret-value")
	t.Setenv("EMPTY_SECRET", "")
	cases := []struct {
		name, inst, want string
	}{
		{"env unset", "{type: jwt, algorithms: [HS256], secret_env: NO_SUCH_VAR_X}", "secret_env: environment variable NO_SUCH_VAR_X is not set or empty"},
		{"env empty", "{type: jwt, algorithms: [HS256], secret_env: EMPTY_SECRET}", "is not set or empty"},
		{"env too short", "{type: jwt, algorithms: [HS256], secret_env: SHORT_SECRET}", "secret_env: the secret is 21 bytes; HS256 needs at least 32"},
		{"file too short for HS512", "{type: jwt, algorithms: [HS256, HS512], secret_file: short.secret}", "secret_file: the secret is 21 bytes"},
		{"secret file missing", "{type: jwt, algorithms: [HS256], secret_file: nope.secret}", "secret_file: open " + dir + "/nope.secret"},
		{"key file missing", "{type: jwt, algorithms: [RS256], public_key_file: nope.pem}", "public_key_file: open " + dir + "/nope.pem"},
		{"key type vs algorithms", "{type: jwt, algorithms: [RS256, ES256], public_key_file: rsa.pem}", "public_key_file rsa.pem: the key cannot verify ES256"},
		{"EC curve vs algorithm", "{type: jwt, algorithms: [ES384], public_key_file: ec.pem}", "the key cannot verify ES384"},
		{"secret file as PEM", "{type: jwt, algorithms: [RS256], public_key_file: good.secret}", "no PEM block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(t, dir, "  a: "+tc.inst+"\n")
			if err != nil {
				t.Fatal(err)
			}
			_, err = filter.Build(c.Middleware["a"])
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant …%s…", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), dir+"/sluice.yaml:2:3: middleware.a: ") {
				t.Errorf("no position: %v", err)
			}
			for _, secret := range []string{"tooshort-secret-value", ss["HS512"].secret} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows the secret: %v", err)
				}
			}
		})
	}
	// The good secret file works, its trailing CRLF dropped (64 bytes).
	mustBuild(t, dir, "  a: {type: jwt, algorithms: [HS512], secret_file: good.secret}\n", "a")
}
