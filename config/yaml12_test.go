package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// testScopes stands in for a middleware type with list and free-form
// settings (require's scopes and claims).
type testScopes struct {
	Scopes []string       `yaml:"scopes"`
	Claims map[string]any `yaml:"claims"`
	Limit  *int64         `yaml:"limit"`
}

// TestYAML12PlainScalars: a plain scalar holding ':' not followed by a
// space is one string, in a flow list inside a flow mapping too (goccy/go-yaml
// read `[admin:write]` as a mapping and `[http://127.0.0.1:31001]` as a key).
func TestYAML12PlainScalars(t *testing.T) {
	var got *testScopes
	registerTestType(t, "test_scopes", func(m *Middleware) error {
		var s testScopes
		if err := m.Decode(&s); err != nil {
			return err
		}
		got = &s
		return nil
	})
	src := `clusters:
  users: {targets: [http://127.0.0.1:31001, "http://127.0.0.1:31002"]}
middleware:
  admins: {type: test_scopes, claims: {role: admin, level: 3, ok: true, ratio: 0.5, groups: [a, b]}, scopes: [admin:write, read]}
routes:
  - {name: r, match: {path: /x}, cluster: users, middleware: [admins]}
`
	c, err := Parse("y.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if ts := c.Clusters["users"].Targets; len(ts) != 2 || ts[0].Addr != "127.0.0.1:31001" || ts[1].Addr != "127.0.0.1:31002" {
		t.Errorf("targets = %+v", ts)
	}
	want := &testScopes{
		Scopes: []string{"admin:write", "read"},
		Claims: map[string]any{"role": "admin", "level": int64(3), "ok": true, "ratio": 0.5, "groups": []any{"a", "b"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings:\n got %#v\nwant %#v", got, want)
	}
}

// TestMiddlewareReportsEveryError: a type's settings get the same decoder
// as the rest of the file, so every unknown field and wrong type is
// reported, each at its place, with a hint.
func TestMiddlewareReportsEveryError(t *testing.T) {
	registerTestType(t, "test_limit", decodeTestLimit)
	src := minimal + "middleware:\n  lim:\n    type: test_limit\n    rte: 5\n    per: fast\n    max: [1]\n"
	_, err := Parse("m.yaml", []byte(src))
	want := []string{
		`m.yaml:12:5: middleware.lim: unknown field "rte" (did you mean "rate"?) (known fields: max, per, rate)`,
		`m.yaml:13:10: middleware.lim: invalid duration "fast"`,
		`m.yaml:14:10: middleware.lim: expected a size such as "64KiB", got a list`,
	}
	es := Errors(err)
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("error %d:\n got %v\nwant %s…", i, es[i], w)
		}
	}
}

// TestTagsAndAliases: standard tags mean what YAML says, an operator's own
// tag is ignored, and alias expansion is bounded.
func TestTagsAndAliases(t *testing.T) {
	c, err := Parse("t.yaml", []byte("listen: !!str 127.0.0.1:8080\nadmin: !local \"127.0.0.1:9902\"\nserver: {loops: !!int \"3\"}\nmetrics: !flag false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Admin != "127.0.0.1:9902" || c.Server.Loops != 3 || c.Metrics {
		t.Errorf("got %q %q %d", c.Listen, c.Admin, c.Server.Loops)
	}
	// A "billion laughs" document is refused, not expanded.
	registerTestType(t, "test_scopes", func(m *Middleware) error { return m.Decode(&testScopes{}) })
	var b strings.Builder
	b.WriteString("middleware:\n  x:\n    type: test_scopes\n    claims:\n      l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 8; i++ {
		b.WriteString("      l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err = Parse("b.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "aliases expanded") {
		t.Errorf("got %v", err)
	}
}

// TestSchemaFromTags: the keys an unknown-key error lists are the struct
// tags, so a field added to a struct is a key with no other change.
func TestSchemaFromTags(t *testing.T) {
	_, err := Parse("s.yaml", []byte("clusters:\n  c:\n    targets: [http://127.0.0.1:1]\n    pool: {idle_timout: 1s}\n"))
	want := `s.yaml:4:12: clusters.c.pool.idle_timout: unknown key "idle_timout" (did you mean "idle_timeout"?) (known keys: idle_timeout, max_idle_per_target)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	s := schemaOf(reflect.TypeFor[Config]())
	for _, k := range []string{"listen", "admin_token_env", "server", "clusters", "middleware", "routes", "access_log"} {
		if _, ok := s.fields[k]; !ok {
			t.Errorf("Config schema lacks %q: %v", k, s.names)
		}
	}
	if _, ok := s.fields["File"]; ok || len(s.names) != reflect.TypeFor[Config]().NumField()-2 { // File (yaml:"-") and pos
		t.Errorf("Config schema = %v", s.names)
	}
}

// TestMiddlewareDuplicateKeyOnce: a duplicate key in an instance is
// reported once, by the type's decoding, at the second key.
func TestMiddlewareDuplicateKeyOnce(t *testing.T) {
	registerTestType(t, "test_limit", decodeTestLimit)
	_, err := Parse("d.yaml", []byte(minimal+"middleware:\n  lim: {type: test_limit, rate: 1, rate: 2}\n"))
	want := `d.yaml:10:36: middleware.lim: duplicate key "rate" (first at line 10)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// TestSyntaxErrorPositions: a syntax error is at the parser's line and
// column; for an unclosed construct, at its start, saying where the parser
// gave up.
func TestSyntaxErrorPositions(t *testing.T) {
	for src, want := range map[string]string{
		"listen: \"127.0.0.1:1\n":                   "s.yaml:1:9: found unexpected end of stream (while scanning a quoted scalar that starts here; found at 2:1)",
		"server:\n\tloops: 2\n":                     "s.yaml:2:1: found character that cannot start any token",
		"listen: 127.0.0.1:1\nadmin: *addr\n":       "s.yaml:2:8: alias *addr names no anchor",
		"routes:\n  - name: a\n     match: x\n":     "s.yaml:3:11: mapping values are not allowed in this context",
		"routes:\n  - {name: a, match: {path: /}\n": "s.yaml:2:5: did not find expected ',' or '}' (while parsing a flow mapping that starts here; found at 3:1)",
	} {
		_, err := Parse("s.yaml", []byte(src))
		if err == nil || err.Error() != want {
			t.Errorf("%q:\n got  %v\n want %s", src, err, want)
		}
	}
}

// TestLoneDashHint: YAML 1.2 has no plain scalar "-" (goccy/go-yaml and
// yaml/v3 accepted `{path: -}`); the error says to quote it.
func TestLoneDashHint(t *testing.T) {
	for src, want := range map[string]string{
		"access_log: {path: -}\n":     `h.yaml:1:20: found character that cannot start any token (a lone "-" is a list entry in YAML; write "-" in quotes for the text)`,
		"access_log:\n  path: -\n":    `h.yaml:2:9: block sequence entries are not allowed in this context (a lone "-" is a list entry in YAML; write "-" in quotes for the text)`,
		"access_log: {path: \"-\"}\n": "",
	} {
		_, err := Parse("h.yaml", []byte(src))
		if got := fmt.Sprint(err); want == "" && err != nil || want != "" && got != want {
			t.Errorf("%q:\n got  %v\n want %s", src, err, want)
		}
	}
}
