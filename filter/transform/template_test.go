package transform

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/filter"
)

func TestTemplateRender(t *testing.T) {
	r := newRequest(t, "/users/:id/*rest",
		"GET /users/a%20b%3Fc/x?q=1+2%26&d%65bug=on&empty=&flag HTTP/1.1\r\nHost: h\r\nX-Trace: t-1\r\nX-Empty:\r\n\r\n",
		`{"tenant":"acme","n":12345678901234567890,"f":1.5e3,"ok":true,"nil":null,"obj":{"a":1},"arr":["a","b"],"https://x.example/role":"admin","evil":"a\r\nX-Evil: 1"}`)
	var x filter.Exchange
	r.start(&x, "")
	x.Consumer, x.Subject = []byte("c-42"), []byte("user 7")
	cases := []struct {
		tpl, header, query string // "-": missing
	}{
		{"plain", "plain", "plain"},
		{"a b&c", "a b&c", "a%20b%26c"},
		{"{{literal}}", "{literal}", "%7Bliteral%7D"},
		{"t={claims.tenant}", "t=acme", "t%3Dacme"},
		{"{claims.n}", "12345678901234567890", "12345678901234567890"},
		{"{claims.f}", "1500", "1500"},
		{"{claims.ok}", "true", "true"},
		{"{claims.https://x.example/role}", "admin", "admin"},
		{"{claims.nil}", "-", "-"},
		{"{claims.obj}", "-", "-"},
		{"{claims.arr}", "-", "-"},
		{"{claims.absent}", "-", "-"},
		{"{claims.evil}", "a\r\nX-Evil: 1", "a%0D%0AX-Evil%3A%201"}, // AppendUpstreamHeader refuses the header form
		{"{params.id}", "a b?c", "a%20b%3Fc"},
		{"{params.rest}", "x", "x"},
		{"{params.nope}", "-", "-"},
		{"{consumer}/{subject}", "c-42/user 7", "c-42%2Fuser%207"},
		{"{client_ip}", "192.0.2.7", "192.0.2.7"},
		{"{request_id}", "req-1", "req-1"},
		{"{header.x-trace}", "t-1", "t-1"},
		{"[{header.X-Empty}]", "[]", "%5B%5D"},
		{"{header.X-Absent}", "-", "-"},
		{"{query.q}", "1 2&", "1%202%26"},
		{"{query.debug}", "on", "on"}, // d%65bug is debug once decoded
		{"{query.empty}", "", ""},
		{"{query.flag}", "", ""},
		{"{query.none}", "-", "-"},
	}
	for _, tc := range cases {
		tpl, err := parseTemplate(tc.tpl)
		if err != nil {
			t.Fatalf("%s: %v", tc.tpl, err)
		}
		for _, m := range []struct {
			enc  encoding
			want string
		}{{inHeader, tc.header}, {inQuery, tc.query}} {
			got, ok := tpl.render([]byte("pre:"), &x, m.enc)
			switch {
			case m.want == "-" && ok:
				t.Errorf("%s (enc %d): rendered %q, want missing", tc.tpl, m.enc, got)
			case m.want != "-" && (!ok || string(got) != "pre:"+m.want):
				t.Errorf("%s (enc %d): %q, %v; want %q", tc.tpl, m.enc, got, ok, m.want)
			}
		}
	}
	tpl, _ := parseTemplate("{claims.tenant}-{params.id}-{header.X-Trace}-{query.q}-{client_ip}")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { tpl.render(buf, &x, inQuery) }); n != 0 {
		t.Errorf("render: %v allocs, want 0", n)
	}
}

func TestTemplateParseErrors(t *testing.T) {
	cases := []struct{ tpl, want string }{
		{"{foo}", "{foo} at byte 0: unknown placeholder (known: {params.NAME}"},
		{"x{claims}", "{claims} at byte 1: needs a name: {claims.NAME}"},
		{"{claims.}", "needs a name"},
		{"{consumer.x}", "{consumer} takes no name"},
		{"{header.bad name}", `"bad name" is not a header name`},
		{"a{claims.x", "'{' at byte 1 is not closed"},
		{"a}b", "a lone '}' at byte 1"},
		{"{{claims.x}", "a lone '}' at byte 10"},
	}
	for _, tc := range cases {
		if _, err := parseTemplate(tc.tpl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want …%s…", tc.tpl, err, tc.want)
		}
	}
	tpl, err := parseTemplate("X-{claims.sub}{consumer}")
	if err != nil || !tpl.identity || !tpl.claims {
		t.Errorf("identity template: %+v, %v", tpl, err)
	}
	if tpl, _ := parseTemplate("{claims.sub}{header.X}"); tpl.identity {
		t.Error("a template reading a client header counts as identity")
	}
}
