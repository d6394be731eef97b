package config

import "strings"

// Paths is the path policy (yaml `paths:`): how request paths that
// upstreams read differently from each other are treated before routing.
// What the router matched is what is forwarded, so these choose between
// refusing such a request and rewriting it into one unambiguous form.
type Paths struct {
	// EscapedSlashes (yaml `escaped_slashes`) is what happens to a path
	// holding "%2F" or "%5C" (any case) or a raw '\': "reject" (default)
	// answers 400; "decode" turns each into '/' before dot-segments are
	// resolved, and routes and forwards the result; "keep" leaves them as
	// data inside one segment (only for upstreams that never decode them).
	EscapedSlashes string `yaml:"escaped_slashes"`
	// PathParams (yaml `path_params`) is what happens to a ';' in the path:
	// "reject" (default) answers 400; "strip" removes each ";…" up to the
	// next '/' (as servlet containers read it) and routes and forwards the
	// rest; "keep" leaves it as data, still refusing "..;" and ".;".
	PathParams string `yaml:"path_params"`
}

var (
	escapedSlashActions = []string{"reject", "decode", "keep"}
	pathParamActions    = []string{"reject", "strip", "keep"}
)

func (k *checker) paths() {
	p := &k.c.Paths
	if p.EscapedSlashes == "" {
		p.EscapedSlashes = "reject"
	}
	if p.PathParams == "" {
		p.PathParams = "reject"
	}
	k.oneOf("paths.escaped_slashes", p.EscapedSlashes, escapedSlashActions)
	k.oneOf("paths.path_params", p.PathParams, pathParamActions)
}

// oneOf reports a value that is not one of the allowed words.
func (k *checker) oneOf(path, got string, allowed []string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	k.errf(path, "unknown value %q%s (use %s)", got, suggest(got, allowed), strings.Join(allowed, ", "))
}
