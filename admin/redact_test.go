package admin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

// TestRedactByKey pins which key names hide their value.
func TestRedactByKey(t *testing.T) {
	cases := []struct {
		key    string
		hidden bool
	}{
		{"secret", true},
		{"secret_env", true},       // only a variable name, hidden anyway
		{"client-secret", true},    // '-' or '_', any case
		{"X-Internal-Token", true}, // a match header
		{"admin_token_env", true},
		{"token_from", true}, // over-redaction accepted
		{"password", true},
		{"db_passwd", true},
		{"Passphrase", true},
		{"credentials", true},
		{"private_key_file", true},
		{"signing_key", true}, // *_key
		{"api_key", true},
		{"X-Api-Key", true},
		{"apikey", true},
		{"key_sha256", true},
		{"hmac", true},
		{"Authorization", true},
		{"Cookie", true},
		{"session_id", true},
		{"key", false}, // rate_limit's key: ip|route|header:NAME
		{"max_keys", false},
		{"public_key_file", false},
		{"jwks_url", false},
		{"hash_on", false},
		{"consumers_file", false},
		{"id", false},
		{"listen", false},
	}
	for _, tc := range cases {
		if got := sensitiveKey(tc.key); got != tc.hidden {
			t.Errorf("sensitiveKey(%q) = %v, want %v", tc.key, got, tc.hidden)
		}
	}
}

// TestRedactByShape pins which values are hidden whatever their key.
func TestRedactByShape(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain value", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"a path", "/api/users/*", "/api/users/*"},
		{"sha-256 hex", keyHash, redacted},
		{"md5-sized hex", "d41d8cd98f00b204e9800998ecf8427e", redacted},
		{"short hex stays", "deadbeef", "deadbeef"},
		{"a JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", redacted},
		{"a PEM block", "-----BEGIN PRIVATE KEY-----\nMIIB…", redacted},
		{"a bcrypt hash", "$2b$10$abcdefghijklmnopqrstuv", redacted},
		{"an argon2 hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", redacted},
		{"URL without secrets", "https://id.example.com/jwks.json?v=2", "https://id.example.com/jwks.json?v=2"},
		{"URL password", "http://user:pa55@127.0.0.1:9100/jwks.json", "http://user:redacted@127.0.0.1:9100/jwks.json"},
		{"URL user only", "http://user@127.0.0.1/", "http://user@127.0.0.1/"},
		{"URL token query", "http://idp/jwks?access_token=abc&v=1", "http://idp/jwks?access_token=redacted&v=1"},
		{"URL key query", "http://idp/jwks?key=abc", "http://idp/jwks?key=redacted"},
		{"unparsable URL with userinfo", "http://u:p@[::1/x", redacted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactString(tc.in); got != tc.want {
				t.Errorf("redactString(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestRedactTree: a key's whole subtree goes; empty values, booleans and
// other keys stay; the input is not modified.
func TestRedactTree(t *testing.T) {
	in := object{
		{"listen", "127.0.0.1:8080"},
		{"secrets", object{{"a", "1"}, {"b", []any{"x"}}}},
		{"tokens", []any{"t1", "t2"}},
		{"secret_file", ""},
		{"password", nil},
		{"keep_authorization", true},
		{"pin_token", int64(1234)},
		{"consumers", []any{object{{"id", "app"}, {"key_sha256", keyHash}}, object{{"id", "b"}, {"hash", keyHash}}}},
		{"empty_secret_list", []any{}},
	}
	before, _ := json.Marshal(in)
	got, _ := json.Marshal(redact(in))
	want := `{"listen":"127.0.0.1:8080","secrets":"[redacted]","tokens":"[redacted]","secret_file":"","password":null,` +
		`"keep_authorization":true,"pin_token":"[redacted]","consumers":[{"id":"app","key_sha256":"[redacted]"},{"id":"b","hash":"[redacted]"}],` +
		`"empty_secret_list":[]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if after, _ := json.Marshal(in); string(after) != string(before) {
		t.Errorf("redact modified its input: %s", after)
	}
}

// TestConfigTree: YAML names, struct order, defaults, units as written;
// untagged and derived fields are left out.
func TestConfigTree(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`clusters:
  a: {targets: ["http://127.0.0.1:9001"]}
middleware:
  rl: {type: rate_limit, key: ip, rate: 10}
routes:
  - {name: r, match: {path: /x}, cluster: a, middleware: [rl]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tr := configTree(cfg)
	if tr[0].key != "listen" || tr[1].key != "admin" {
		t.Errorf("order: %v %v", tr[0].key, tr[1].key)
	}
	b, _ := json.Marshal(tr)
	s := string(b)
	for _, want := range []string{
		`"server":{"loops":0,"reuseport":true`, `"drain_timeout":"30s"`, `"max_body_bytes":"10MiB"`,
		`"targets":[{"url":"http://127.0.0.1:9001","weight":1}]`,
		`"rl":{"type":"rate_limit","key":"ip","rate":10,"per":"1s"`,
		`"routes":[{"name":"r","match":{"path":"/x","methods":[],"method_fallthrough":false,"host":"","headers":{},"accept_version":""},"cluster":"a"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("tree lacks %s:\n%s", want, s)
		}
	}
	for _, absent := range []string{`"Addr"`, `"addr"`, `"Pos"`, `"pos"`, `"File"`, `"Raw"`, `"Settings"`, `"Kind"`} {
		if strings.Contains(s, absent) {
			t.Errorf("tree shows %s:\n%s", absent, s)
		}
	}
}

// TestMiddlewareTreeFallback: a type without a settings struct shows the
// YAML as written; one that does not parse alone says so.
func TestMiddlewareTreeFallback(t *testing.T) {
	m := &config.Middleware{Type: "custom", Raw: []byte("type: custom\nlevel: 3\nname: x\n")}
	b, _ := json.Marshal(middlewareTree(m, 0))
	if string(b) != `{"type":"custom","level":3,"name":"x"}` {
		t.Errorf("got %s", b)
	}
	m = &config.Middleware{Type: "custom", Raw: []byte("type: custom\nlevel: *anchor\n")}
	b, _ = json.Marshal(middlewareTree(m, 0))
	if !strings.Contains(string(b), `"settings":"[not shown`) {
		t.Errorf("got %s", b)
	}
}
