package ratelimit

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
)

// base is a valid config whose route uses the middleware "lim"; tests
// append lim's definition (it starts at line 10).
const base = `clusters:
  c:
    targets:
      - url: http://127.0.0.1:9001
routes:
  - name: r
    match: {path: /api/*}
    cluster: c
    middleware: [lim]
middleware:
`

// parse parses base plus inst and returns lim.
func parse(t testing.TB, inst string) (*config.Middleware, error) {
	t.Helper()
	c, err := config.Parse("rl.yaml", []byte(base+inst))
	if err != nil {
		return nil, err
	}
	return c.Middleware["lim"], nil
}

func ptr[T any](v T) *T { return &v }

func TestDecodeSettings(t *testing.T) {
	cases := []struct {
		name, inst string
		want       Settings
	}{
		// Only rate is required: key ip, per 1s, burst = rate, headers on,
		// 65536 keys.
		{"defaults", "  lim: {type: rate_limit, rate: 100}\n",
			Settings{Key: "ip", Rate: 100, Per: config.Duration(time.Second), Headers: true, MaxKeys: 65536, Scope: "local", Kind: KindIP}},
		// Every key written.
		{"all keys", "  lim: {type: rate_limit, key: route, rate: 5, per: 1m, burst: 20, headers: false, max_keys: 1000}\n",
			Settings{Key: "route", Rate: 5, Per: config.Duration(time.Minute), Burst: ptr[int64](20), MaxKeys: 1000, Scope: "local", Kind: KindRoute}},
		{"consumer", "  lim: {type: rate_limit, key: consumer, rate: 1}\n",
			Settings{Key: "consumer", Rate: 1, Per: config.Duration(time.Second), Headers: true, MaxKeys: 65536, Scope: "local", Kind: KindConsumer}},
		{"user", "  lim: {type: rate_limit, key: user, rate: 1}\n",
			Settings{Key: "user", Rate: 1, Per: config.Duration(time.Second), Headers: true, MaxKeys: 65536, Scope: "local", Kind: KindUser}},
		// The header name keeps its spelling; look-ups ignore case.
		{"header", "  lim: {type: rate_limit, key: \"header:X-API-Key\", rate: 1}\n",
			Settings{Key: "header:X-API-Key", Rate: 1, Per: config.Duration(time.Second), Headers: true, MaxKeys: 65536, Scope: "local", Kind: KindHeader, Header: "X-API-Key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parse(t, tc.inst)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := m.Settings.(*Settings)
			if !ok {
				t.Fatalf("settings = %T", m.Settings)
			}
			got, want := *s, tc.want
			if (got.Burst == nil) != (want.Burst == nil) || got.Burst != nil && *got.Burst != *want.Burst {
				t.Fatalf("burst = %v, want %v", got.Burst, want.Burst)
			}
			got.Burst, want.Burst = nil, nil
			if got != want {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, inst string
		want       string // the error's prefix: position, path, message
	}{
		{"typo in the header kind, with a hint", "  lim: {type: rate_limit, key: \"hedaer:x\", rate: 1}\n",
			`rl.yaml:11:32: middleware.lim.key: unknown key "hedaer:x" (did you mean "header:x"?); want ip, route, consumer, user or header:NAME`},
		{"typo in a simple kind", "  lim: {type: rate_limit, key: rout, rate: 1}\n",
			`rl.yaml:11:32: middleware.lim.key: unknown key "rout" (did you mean "route"?)`},
		{"nothing like a kind", "  lim: {type: rate_limit, key: cookie, rate: 1}\n",
			`rl.yaml:11:32: middleware.lim.key: unknown key "cookie"; want ip, route`},
		{"header without a name", "  lim: {type: rate_limit, key: \"header:\", rate: 1}\n",
			`rl.yaml:11:32: middleware.lim.key: key "header:" names no header`},
		{"space after the colon", "  lim: {type: rate_limit, key: \"header: X-Key\", rate: 1}\n",
			`rl.yaml:11:32: middleware.lim.key: key "header: X-Key": " X-Key" is not a valid header name`},
		{"no rate", "  lim: {type: rate_limit, key: ip}\n",
			`rl.yaml:11:3: middleware.lim.rate: required`},
		{"zero rate", "  lim:\n    type: rate_limit\n    rate: 0\n",
			`rl.yaml:13:11: middleware.lim.rate: required: requests per`},
		{"rate is not a number", "  lim: {type: rate_limit, rate: lots}\n",
			`rl.yaml:11:`},
		{"zero period", "  lim: {type: rate_limit, rate: 1, per: 0s}\n",
			`rl.yaml:11:41: middleware.lim.per: must be > 0`},
		{"period without a unit", "  lim: {type: rate_limit, rate: 1, per: 10}\n",
			`rl.yaml:11:41: middleware.lim: duration "10" has no unit`},
		{"zero burst", "  lim: {type: rate_limit, rate: 1, burst: 0}\n",
			`rl.yaml:11:43: middleware.lim.burst: must be > 0 (got 0); leave it out`},
		{"zero max_keys", "  lim: {type: rate_limit, rate: 1, max_keys: 0}\n",
			`rl.yaml:11:46: middleware.lim.max_keys: must be between 1 and 16777216 (got 0); each key takes 16 bytes`},
		{"rate too fast to count", "  lim: {type: rate_limit, rate: 2000000}\n",
			`rl.yaml:11:33: middleware.lim.rate: 2000000 per 1s is more than one per 1µs per key`},
		{"window too long", "  lim: {type: rate_limit, rate: 1, per: 24h, burst: 1000}\n",
			`rl.yaml:11:53: middleware.lim.burst: 1000 tokens at one per 24h0m0s take longer than`},
		{"unknown setting", "  lim: {type: rate_limit, rate: 1, window: 1s}\n",
			`rl.yaml:11:36: middleware.lim: unknown field "window"`},
		{"parsed-only field is not a setting", "  lim: {type: rate_limit, rate: 1, kind: 2}\n",
			`rl.yaml:11:36: middleware.lim: unknown field "kind"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.inst)
			es := config.Errors(err)
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s…", err, tc.want)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	cases := []struct {
		key    string
		kind   Kind
		header string
		ok     bool
	}{
		{"ip", KindIP, "", true},
		{"route", KindRoute, "", true},
		{"consumer", KindConsumer, "", true},
		{"user", KindUser, "", true},
		{"header:X-Tenant", KindHeader, "X-Tenant", true},
		{"header:x_tenant.v2", KindHeader, "x_tenant.v2", true}, // any token
		{"IP", 0, "", false},                                    // kinds are lower case
		{"header:a:b", 0, "", false},                            // ':' is not a token char
		{"header:X Tenant", 0, "", false},
		{"", 0, "", false},
	}
	for _, tc := range cases {
		kind, header, err := parseKey(tc.key)
		if (err == nil) != tc.ok || kind != tc.kind || header != tc.header {
			t.Errorf("parseKey(%q) = %v, %q, %v", tc.key, kind, header, err)
		}
	}
}
