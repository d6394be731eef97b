package http1

import (
	"bytes"
	"testing"
)

// cookieCases are the cases of both former parsers (auth.Cookie for jwt's
// token_from: cookie:NAME, engine's for hash_on: cookie:NAME), with the
// quotes and whitespace decided once.
var cookieCases = []struct {
	field, name, want string
	ok                bool
}{
	{"session=abc", "session", "abc", true},
	{"a=1; session=abc; b=2", "session", "abc", true},
	{"a=1;session=abc", "session", "abc", true},
	{"a=1;  \tsession=abc \t; b=2", "session", "abc", true}, // OWS around the pair
	{`session="abc"`, "session", "abc", true},               // quoted form: the quotes are not data
	{`session=""`, "session", "", true},
	{`session="abc`, "session", `"abc`, true}, // unbalanced: left as sent
	{`session="`, "session", `"`, true},
	{`session=a"b"`, "session", `a"b"`, true},
	{"session=", "session", "", true},
	{"session=a=b", "session", "a=b", true}, // the first '=' splits
	{"Session=abc", "session", "", false},   // names are case-sensitive
	{"xsession=abc", "session", "", false},
	{"session =abc", "session", "", false},               // no whitespace inside a cookie-pair
	{"session=abc; session=def", "session", "abc", true}, // first wins
	{"noequals; session=x", "session", "x", true},
	{"session; session=x", "session", "x", true},
	{"", "session", "", false},
	{";;;", "session", "", false},
}

func TestCookie(t *testing.T) {
	for _, tc := range cookieCases {
		got, ok := Cookie([]byte(tc.field), tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Cookie(%q, %q) = %q, %v; want %q, %v", tc.field, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRequestCookie(t *testing.T) {
	cases := []struct {
		head, name, want string
		ok               bool
	}{
		{"Cookie: a=1\r\ncookie: session=x\r\n", "session", "x", true}, // second field, any case
		{"Cookie: session=1\r\nCookie: session=2\r\n", "session", "1", true},
		{"Cookie: session=\r\nCookie: session=2\r\n", "session", "", true}, // the first one, even empty
		{"X-Cookie: session=1\r\n", "session", "", false},
		{"Set-Cookie: session=1\r\n", "session", "", false},
		{"Cookie: session=\"q\"\r\n", "session", "q", true},
	}
	for _, tc := range cases {
		var r Request
		buf := []byte("GET / HTTP/1.1\r\nHost: h\r\n" + tc.head + "\r\n")
		if _, err := ParseRequest(buf, &r, nil); err != nil {
			t.Fatalf("%q: %v", tc.head, err)
		}
		got, ok := r.Cookie(tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("%q: Cookie(%q) = %q, %v; want %q, %v", tc.head, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCookieAllocatesNothing(t *testing.T) {
	var r Request
	buf := []byte("GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; b=2\r\nCookie: c=3; session=\"abc\"\r\n\r\n")
	if _, err := ParseRequest(buf, &r, nil); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if v, ok := r.Cookie("session"); !ok || string(v) != "abc" {
			t.Fatal("cookie not found")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per lookup", n)
	}
}

// FuzzCookie: never panics, returns a view into its input, and agrees with
// a plain reading of the rules: the value of the first pair whose trimmed
// text starts with name "=", quotes unwrapped.
func FuzzCookie(f *testing.F) {
	for _, tc := range cookieCases {
		f.Add([]byte(tc.field), tc.name)
	}
	f.Fuzz(func(t *testing.T, field []byte, name string) {
		got, ok := Cookie(field, name)
		if got != nil && !inside(got, field) {
			t.Fatalf("value %q is not a view into the field", got)
		}
		var want []byte
		found := false
		for _, pair := range bytes.Split(field, []byte(";")) {
			k, v, hasEq := bytes.Cut(bytes.Trim(pair, " \t"), []byte("="))
			if hasEq && string(k) == name {
				if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				want, found = v, true
				break
			}
		}
		if ok != found || !bytes.Equal(got, want) {
			t.Fatalf("Cookie(%q, %q) = %q, %v; want %q, %v", field, name, got, ok, want, found)
		}
	})
}
