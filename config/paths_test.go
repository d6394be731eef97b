package config

import (
	"strings"
	"testing"
)

// TestPathsKeys pins the path policy section and match.method_fallthrough:
// safe defaults, every documented value, and file:line:column errors with a
// suggestion for a misspelt value.
func TestPathsKeys(t *testing.T) {
	base := "clusters: {a: {targets: [\"http://127.0.0.1:9\"]}}\nroutes: [{name: r, match: {path: /}, cluster: a}]\n"
	c, err := Parse("t.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Paths; p.EscapedSlashes != "reject" || p.PathParams != "reject" || c.Routes[0].Match.MethodFallthrough {
		t.Errorf("defaults: %+v, fall-through %v", p, c.Routes[0].Match.MethodFallthrough)
	}
	for _, es := range escapedSlashActions {
		for _, pp := range pathParamActions {
			c, err := Parse("t.yaml", []byte(base+"paths: {escaped_slashes: "+es+", path_params: "+pp+"}\n"))
			if err != nil || c.Paths.EscapedSlashes != es || c.Paths.PathParams != pp {
				t.Errorf("%s/%s: %+v, %v", es, pp, c.Paths, err)
			}
		}
	}
	c, err = Parse("t.yaml", []byte("clusters: {a: {targets: [\"http://127.0.0.1:9\"]}}\nroutes: [{name: r, match: {path: /x/*, methods: [GET], method_fallthrough: true}, cluster: a}]\n"))
	if err != nil || !c.Routes[0].Match.MethodFallthrough {
		t.Errorf("method_fallthrough: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"paths: {escaped_slashes: decodes}", `t.yaml:3:26: paths.escaped_slashes: unknown value "decodes" (did you mean "decode"?) (use reject, decode, keep)`},
		{"paths: {path_params: strp}", `t.yaml:3:22: paths.path_params: unknown value "strp" (did you mean "strip"?)`},
		{"paths: {merge: true}", `t.yaml:3:9: paths.merge: unknown key`},
	} {
		_, err := Parse("t.yaml", []byte(base+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
