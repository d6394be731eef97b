package require

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

func buildText(t testing.TB, inst string) (*Filter, error) {
	t.Helper()
	c, err := config.Parse("r.yaml", []byte("middleware:\n  r: "+inst+"\n"))
	if err != nil {
		return nil, err
	}
	f, err := filter.Build(c.Middleware["r"])
	if err != nil {
		return nil, err
	}
	return f.(*Filter), nil
}

// claims decodes a claims set the way package auth does (json.Number).
func claims(t testing.TB, js string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(js))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRequire(t *testing.T) {
	cases := []struct {
		name   string
		inst   string
		claims string // "" = no identity
		status int    // 0 = passes
		www    string
	}{
		{"role matches", "{type: require, claims: {role: admin}}", `{"role":"admin"}`, 0, ""},
		{"role differs", "{type: require, claims: {role: admin}}", `{"role":"user"}`, 403, ""},
		{"role missing", "{type: require, claims: {role: admin}}", `{"sub":"x"}`, 403, ""},
		{"role null", "{type: require, claims: {role: admin}}", `{"role":null}`, 403, ""},
		{"case matters", "{type: require, claims: {role: admin}}", `{"role":"Admin"}`, 403, ""},
		{"one of a list", "{type: require, claims: {role: [editor, admin]}}", `{"role":"editor"}`, 0, ""},
		{"array claim, one element matches", "{type: require, claims: {groups: ops}}", `{"groups":["eng","ops"]}`, 0, ""},
		{"array claim, none matches", "{type: require, claims: {groups: ops}}", `{"groups":["eng"]}`, 403, ""},
		{"nested arrays do not match", "{type: require, claims: {groups: ops}}", `{"groups":[["ops"]]}`, 403, ""},
		{"number", "{type: require, claims: {level: 3}}", `{"level":3}`, 0, ""},
		{"number by value", "{type: require, claims: {level: 3}}", `{"level":3.0}`, 0, ""},
		{"number vs string", "{type: require, claims: {level: 3}}", `{"level":"3"}`, 0, ""},
		{"number differs", "{type: require, claims: {level: 3}}", `{"level":4}`, 403, ""},
		{"boolean", "{type: require, claims: {email_verified: true}}", `{"email_verified":true}`, 0, ""},
		{"boolean false", "{type: require, claims: {email_verified: true}}", `{"email_verified":false}`, 403, ""},
		{"boolean as string is not a boolean", "{type: require, claims: {email_verified: true}}", `{"email_verified":"yes"}`, 403, ""},
		{"two claims, both match", "{type: require, claims: {role: admin, tenant: acme}}", `{"role":"admin","tenant":"acme"}`, 0, ""},
		{"two claims, one fails", "{type: require, claims: {role: admin, tenant: acme}}", `{"role":"admin","tenant":"evil"}`, 403, ""},
		{"scopes present", "{type: require, scopes: [read, write]}", `{"scope":"openid write read"}`, 0, ""},
		{"scope missing", "{type: require, scopes: [read, write]}", `{"scope":"read"}`, 403, `Bearer error="insufficient_scope", scope="read write"`},
		{"scope prefix is not the scope", "{type: require, scopes: [read]}", `{"scope":"reader"}`, 403, `Bearer error="insufficient_scope", scope="read"`},
		{"scope array", "{type: require, scopes: [read]}", `{"scope":["read"]}`, 0, ""},
		{"no scope claim", "{type: require, scopes: [read]}", `{"sub":"x"}`, 403, `Bearer error="insufficient_scope", scope="read"`},
		{"no identity", "{type: require, claims: {role: admin}}", "", 401, "Bearer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := buildText(t, tc.inst)
			if err != nil {
				t.Fatal(err)
			}
			x := &filter.Exchange{}
			x.Reset(nil)
			if tc.claims != "" {
				x.Claims = claims(t, tc.claims)
			}
			v := f.Request(x)
			if tc.status == 0 {
				if v != filter.Continue {
					t.Errorf("rejected %d %q", x.Status, x.Message)
				}
				return
			}
			wantMsg := map[int]string{401: "Authentication required", 403: "Forbidden"}[tc.status]
			www := ""
			if h := string(x.ResponseHeaders()); h != "" {
				www = strings.TrimSuffix(strings.TrimPrefix(h, "WWW-Authenticate: "), "\r\n")
			}
			if v != filter.Respond || x.Status != tc.status || x.Message != wantMsg || www != tc.www {
				t.Errorf("verdict %v %d %q www %q", v, x.Status, x.Message, www)
			}
		})
	}
}

func TestRequireConfigErrors(t *testing.T) {
	cases := []struct{ inst, want string }{
		{"{type: require}", "r.yaml:2:3: middleware.r: nothing required"},
		{"{type: require, claims: {role: []}}", "middleware.r.claims.role: empty list"},
		{"{type: require, claims: {role: null}}", "null: write the value"},
		{"{type: require, claims: {role: {a: b}}}", "want a string, number or boolean"},
		{"{type: require, scopes: ['a b']}", `"a b" is not a scope token`},
		{"{type: require, scopes: [read], role: admin}", `unknown field "role"`},
	}
	for _, tc := range cases {
		if _, err := buildText(t, tc.inst); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want …%s…", tc.inst, err, tc.want)
		}
	}
}

func TestRequireAllocs(t *testing.T) {
	f, err := buildText(t, "{type: require, claims: {role: [editor, admin], level: 3, verified: true}, scopes: [read, write]}")
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, `{"role":["user","admin"],"level":3.0,"verified":true,"scope":"openid read write"}`)
	x := &filter.Exchange{}
	n := testing.AllocsPerRun(1000, func() {
		x.Reset(nil)
		x.Claims = c
		if f.Request(x) != filter.Continue {
			panic(x.Message)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}
