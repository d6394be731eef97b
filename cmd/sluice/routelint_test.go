package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckWarnsOnCORSPlacement pins the -check warnings for a cors
// middleware that cannot work: after a middleware that refuses requests
// (browsers cannot read its refusals, and it refuses preflights), or on a
// route whose match.methods leave out OPTIONS (preflights get 405). The
// config stays valid (exit 0).
func TestCheckWarnsOnCORSPlacement(t *testing.T) {
	const head = `listen: 127.0.0.1:18999
admin: ""
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
middleware:
  c: {type: cors, allow_origins: ["https://app.example.com"], allow_methods: [PUT]}
  keys: {type: api_key, consumers: [{id: ops, key_sha256: c4e43d5b036e666ab7c78c3971ecc458586a334f2c3171ba1979da452a6d2668}]}
  limit: {type: rate_limit, key: ip, rate: 10, per: 1s}
  secure: {type: response_headers, set: {X-Frame-Options: DENY}}
routes:
`
	cases := []struct {
		name, routes string
		want         []string // substrings, one warning each; nil = none
	}{
		{"cors first: no warning", `  - {name: api, match: {path: /api/*}, cluster: a, middleware: [c, keys, limit]}`, nil},
		{"after response-phase middleware: no warning", `  - {name: api, match: {path: /api/*}, cluster: a, middleware: [secure, c, keys]}`, nil},
		{"after authentication and a limiter", `  - {name: api, match: {path: /api/*}, cluster: a, middleware: [keys, limit, c]}`, []string{
			`:11:5: routes[0] "api": middleware keys (type api_key) runs before cors c`,
			`:11:5: routes[0] "api": middleware limit (type rate_limit) runs before cors c`}},
		{"methods without OPTIONS", `  - {name: api, match: {path: /api/*, methods: [GET, PUT]}, cluster: a, middleware: [c]}`, []string{
			`:11:5: routes[0] "api": match.methods leaves out OPTIONS, so preflights get 405 before cors c sees them`}},
		{"methods with OPTIONS: no warning", `  - {name: api, match: {path: /api/*, methods: [GET, PUT, OPTIONS]}, cluster: a, middleware: [c]}`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, head+tc.routes+"\n")
			var out bytes.Buffer
			if code := run([]string{"-check", "-config", file}, &out); code != 0 {
				t.Fatalf("exit %d; output:\n%s", code, out.String())
			}
			got := out.String()
			if n := strings.Count(got, "warning: "+file); n != len(tc.want) {
				t.Fatalf("%d warnings, want %d:\n%s", n, len(tc.want), got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
