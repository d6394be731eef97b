package config

import (
	"errors"
	"strings"
	"testing"
)

// TestAdminTokenEnvValidation pins the admin_token_env key: only a variable
// name is accepted, with the position of the bad value.
func TestAdminTokenEnvValidation(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       string // "" = valid
	}{
		{"unset: no token", "", ""},
		{"a plain name", "admin_token_env: SLUICE_ADMIN_TOKEN\n", ""},
		{"leading underscore", "admin_token_env: _TOKEN2\n", ""},
		{"a token written inline is not a name", "admin_token_env: s3cr3t-t0ken!\n", `a.yaml:1:18: admin_token_env: "s3cr3t-t0ken!" is not an environment variable name`},
		{"leading digit", "admin_token_env: 1TOKEN\n", "a.yaml:1:18: admin_token_env:"},
		{"shell syntax", "admin_token_env: $TOKEN\n", "a.yaml:1:18: admin_token_env:"},
		{"wrong type", "admin_token_env: [A]\n", "a.yaml:1:18: admin_token_env:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("a.yaml", []byte(tc.yaml+minimal))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v (config %v), want %q", err, c, tc.want)
			}
		})
	}
}

// TestAdminToken pins how the token is read from the environment: refused
// (with the key's position, never the token) unless it is long enough and
// visible ASCII.
func TestAdminToken(t *testing.T) {
	const good = "0123456789abcdefXYZ"
	cases := []struct {
		name string
		env  map[string]string
		key  string // admin_token_env; "" = not set
		want string // token, or the error it must contain
		ok   bool
	}{
		{"no key: no token", nil, "", "", true},
		{"set", map[string]string{"TOK": good}, "TOK", good, true},
		{"unset variable", nil, "TOK", "a.yaml:1:18: admin_token_env: environment variable TOK is not set or empty", false},
		{"empty variable", map[string]string{"TOK": ""}, "TOK", "is not set or empty", false},
		{"too short", map[string]string{"TOK": "changeme"}, "TOK", "is 8 bytes; use at least 16", false},
		{"trailing newline cannot arrive in a header", map[string]string{"TOK": good + "\n"}, "TOK", "offset 19", false},
		{"inner space", map[string]string{"TOK": "0123456789 abcdefgh"}, "TOK", "offset 10", false},
		{"non-ASCII", map[string]string{"TOK": good + "é"}, "TOK", "non-ASCII", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := minimal
			if tc.key != "" {
				text = "admin_token_env: " + tc.key + "\n" + minimal
			}
			c, err := Parse("a.yaml", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := c.AdminToken(func(n string) (string, bool) { v, ok := tc.env[n]; return v, ok })
			if tc.ok {
				if err != nil || tok != tc.want {
					t.Fatalf("got %q, %v; want %q", tok, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) || tok != "" {
				t.Fatalf("got %q, %v; want error with %q", tok, err, tc.want)
			}
			if v := tc.env["TOK"]; len(v) > 2 && strings.Contains(err.Error(), v) {
				t.Errorf("the error shows the token: %v", err)
			}
			if len(Errors(err)) != 1 {
				t.Errorf("want one *Error, got %v", err)
			}
		})
	}
}
