package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// testLimit stands in for a real middleware type's settings.
type testLimit struct {
	Rate int      `yaml:"rate"`
	Per  Duration `yaml:"per"`
	Max  ByteSize `yaml:"max"`
}

// registerTestType registers typ for the duration of the test.
func registerTestType(t *testing.T, typ string, dec MiddlewareDecoder) {
	t.Helper()
	RegisterMiddlewareType(typ, dec)
	t.Cleanup(func() {
		registry.Lock()
		delete(registry.m, typ)
		registry.Unlock()
	})
}

func decodeTestLimit(m *Middleware) error {
	var s testLimit
	if err := m.Decode(&s); err != nil {
		return err
	}
	if s.Rate <= 0 {
		return m.Errorf("rate", "must be > 0, got %d", s.Rate)
	}
	m.Settings = &s
	return nil
}

func TestMiddlewareRegistry(t *testing.T) {
	registerTestType(t, "test_limit", decodeTestLimit)
	base := minimal + "    middleware: [lim]\nmiddleware:\n"

	// A registered type's settings reach its decoder, `type` excluded.
	c, err := Parse("m.yaml", []byte(base+"  lim: {type: test_limit, rate: 5, per: 2s, max: 1KiB}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Middleware["lim"]
	want := testLimit{Rate: 5, Per: Duration(2 * time.Second), Max: KiB}
	if s, ok := m.Settings.(*testLimit); !ok || *s != want {
		t.Errorf("settings = %+v", m.Settings)
	}
	if m.Name != "lim" || m.Type != "test_limit" || m.Pos != (Pos{"m.yaml", 11, 3}) || !strings.Contains(string(m.Raw), "rate: 5") {
		t.Errorf("middleware = %+v", m)
	}

	// The decoder's errors keep file positions: an unknown key from strict
	// decoding, a bad duration, and a semantic check via Errorf.
	cases := []struct {
		name, inst, want string
	}{
		{"unknown key", "  lim: {type: test_limit, rate: 5, burst: 2}\n", `m.yaml:11:36: middleware.lim: unknown field "burst"`},
		{"bad duration", "  lim:\n    type: test_limit\n    rate: 5\n    per: 10\n", `m.yaml:14:10: middleware.lim: duration "10" has no unit`},
		{"semantic", "  lim:\n    type: test_limit\n    rate: 0\n", `m.yaml:13:11: middleware.lim.rate: must be > 0, got 0`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(base+tc.inst))
			if es := Errors(err); len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Errorf("got  %v\nwant %s…", err, tc.want)
			}
		})
	}

	// The error lists the types that do exist.
	_, err = Parse("m.yaml", []byte(base+"  lim: {type: jwt}\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown middleware type "jwt" (available: test_limit)`) {
		t.Errorf("got %v", err)
	}
}

func TestMiddlewarePlainError(t *testing.T) {
	// A decoder returning a plain error still gets a position: the instance.
	registerTestType(t, "test_plain", func(*Middleware) error { return errors.New("nope") })
	_, err := Parse("p.yaml", []byte("middleware:\n  x: {type: test_plain}\n"))
	if err == nil || err.Error() != "p.yaml:2:3: middleware.x: nope" {
		t.Errorf("got %v", err)
	}
}

func TestRegisterMiddlewareTypePanics(t *testing.T) {
	registerTestType(t, "test_dup", decodeTestLimit)
	for name, f := range map[string]func(){
		"duplicate":   func() { RegisterMiddlewareType("test_dup", decodeTestLimit) },
		"empty name":  func() { RegisterMiddlewareType("", decodeTestLimit) },
		"nil decoder": func() { RegisterMiddlewareType("test_nil", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestMiddlewareInMemory(t *testing.T) {
	// Instances built in Go have no YAML node: Decode falls back to Raw.
	registerTestType(t, "test_limit", decodeTestLimit)
	c := Default()
	c.Middleware["lim"] = &Middleware{Type: "test_limit", Raw: []byte("type: test_limit\nrate: 3\nper: 1s\n")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Middleware["lim"].Settings.(*testLimit); !ok || s.Rate != 3 || s.Per.D() != time.Second {
		t.Errorf("settings = %+v", c.Middleware["lim"].Settings)
	}
	c.Middleware["lim"].Raw = []byte("type: test_limit\nrate: 3\nbogus: 1\n")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `middleware.lim: unknown field "bogus"`) {
		t.Errorf("got %v", err)
	}
}
