package transform

import (
	"testing"

	"github.com/sluicehq/sluice/filter"
)

func TestQueryEdits(t *testing.T) {
	cases := []struct{ edits, query, want string }{ // query "-": none; want "-": no '?'
		{"remove_query: [debug]", "a=1&debug=1&b=%2F&debug", "a=1&b=%2F"},
		{"remove_query: [debug]", "d%65bug=1&de+bug=2&debug2=3", "de+bug=2&debug2=3"}, // decoded names compare
		{"remove_query: [debug]", "debug=1", "-"},
		{"remove_query: [debug]", "-", "-"},
		{"rename_query: {old: new}", "a=1&old=x%20y&old&b", "a=1&new=x%20y&new&b"},
		{"rename_query: {old: n w}", "old=1", "n%20w=1"},
		{`set_query: {v: "2"}`, "a=1&v=1&b=2&v=3", "a=1&v=2&b=2"},
		{`set_query: {v: "2"}`, "a=1", "a=1&v=2"},
		{`set_query: {v: "2"}`, "-", "v=2"},
		{`set_query: {"a b": "x&y=z"}`, "a+b=1&c", "a%20b=x%26y%3Dz&c"},
		{`set_query: {t: "{claims.tenant}"}`, "t=evil&x=1", "x=1"}, // missing value: the client's is removed all the same
		{`set_query: {id: "{params.id}"}, add_query: {h: "{header.X-H}", u: "{claims.sub}"}`, "id=0", "id=42&h=a%20%26%20b"},
		{`add_query: {v: "2"}`, "v=1", "v=1&v=2"},
		{"remove_query: [x]", "a=1&&x=2&&b=3&", "a=1&b=3"}, // empty pairs dropped
		{`remove_query: [x], rename_query: {a: b}, set_query: {c: "3"}, add_query: {d: "4"}`, "x=0&a=1&c=0&e=%E2%9C%93", "b=1&c=3&e=%E2%9C%93&d=4"},
	}
	for _, tc := range cases {
		f := mustBuild(t, "{type: transform, request: {"+tc.edits+"}}").(*Filter)
		raw := "GET /users/42 HTTP/1.1\r\nHost: h\r\nX-H: a & b\r\n\r\n"
		if tc.query != "-" {
			raw = "GET /users/42?" + tc.query + " HTTP/1.1\r\nHost: h\r\nX-H: a & b\r\n\r\n"
		}
		r := newRequest(t, "/users/:id", raw, "")
		var x filter.Exchange
		r.start(&x, "")
		f.Request(&x)
		got := x.ForwardQuery(r.req.Query)
		if (tc.want == "-" && got != nil) || (tc.want != "-" && string(got) != tc.want) {
			t.Errorf("%s on %q: %q, want %q", tc.edits, tc.query, got, tc.want)
		}
	}
}
