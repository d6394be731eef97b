package cors

import (
	"strings"
	"testing"
)

func TestOriginMatching(t *testing.T) {
	o, errs := compileOrigins([]string{"https://app.example.com", "https://*.example.com", "http://127.0.0.1:8080", "https://*.apps.example.net:8443"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cases := []struct {
		origin string
		want   int
	}{
		{"https://app.example.com", 0},
		{"http://127.0.0.1:8080", 1},
		{"https://a.example.com", echo},
		{"https://xn--bcher-kva.example.com", echo},
		{"https://a-b.example.com", echo},
		{"https://example.com", noMatch},              // the pattern needs a label before the domain
		{"https://.example.com", noMatch},             // an empty label
		{"https://a.example.com.evil.com", noMatch},   // the domain must end the host
		{"https://evilexample.com", noMatch},          // a suffix of a label is not the domain
		{"http://a.example.com", noMatch},             // another scheme is another origin
		{"https://a.b.example.com", noMatch},          // one label only, as TLS wildcards
		{"https://a.example.com:8443", noMatch},       // another port is another origin
		{"https://A.example.com", noMatch},            // browsers send lower case
		{"https://-a.example.com", noMatch},           // not a DNS label
		{"https://a_b.example.com", noMatch},          // not a DNS label
		{"https://app.example.com/", noMatch},         // an origin has no path
		{"https://app.example.com ", noMatch},         // exact, byte for byte
		{"http://127.0.0.1:8081", noMatch},            // port
		{"https://x.apps.example.net:8443", echo},     // a pattern with a port
		{"https://x.apps.example.net", noMatch},       // ... needs that port
		{"https://x.apps.example.net:84430", noMatch}, // ... exactly
		{"null", noMatch},
		{"", noMatch},
	}
	for _, tc := range cases {
		if got := o.match([]byte(tc.origin)); got != tc.want {
			t.Errorf("match(%q) = %d, want %d", tc.origin, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { o.match([]byte("https://zz.example.com")) }); n != 0 {
		t.Errorf("%v allocs per match, want 0", n)
	}

	all, errs := compileOrigins([]string{"*"})
	if len(errs) > 0 || all.match([]byte("https://anything.test")) != echo || all.match(nil) != noMatch {
		t.Errorf(`"*": errs %v`, errs)
	}
}

func TestOriginConfigErrors(t *testing.T) {
	cases := []struct{ origin, want string }{
		{"https://*foo", "bad origin pattern"},
		{"*.example.com", "bad origin pattern"},
		{"https://a.*.example.com", "bad origin pattern"},
		{"https://*.*.example.com", "bad origin pattern"},
		{"https://*.com", "at least two labels"},
		{"https://*.example.com/", "bad origin pattern"},
		{"https://*.Example.com", "bad origin pattern"},
		{"https://*.exa_mple.com", "not a DNS label"},
		{"null", "sandboxed"},
		{"app.example.com", "not an origin"},
		{"https://app.example.com/", "no user, path"},
		{"https://app.example.com/api", "no user, path"},
		{"https://u@app.example.com", "no user, path"},
		{"https://App.example.com", "lower case"},
		{"https://app.example.com:443", "default port"},
		{"http://app.example.com:80", "default port"},
		{"https://app.example.com:0", "bad port"},
		{"https://app.example.com:99999", "bad port"},
	}
	for _, tc := range cases {
		_, errs := compileOrigins([]string{tc.origin})
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
			t.Errorf("%q: got %v, want …%s…", tc.origin, errs, tc.want)
		}
	}
	for _, ok := range []string{"https://app.example.com", "http://127.0.0.1:5173", "http://[::1]:3000", "https://*.example.com:8443", "chrome-extension://abcdef"} {
		if _, errs := compileOrigins([]string{ok}); len(errs) > 0 {
			t.Errorf("%q refused: %v", ok, errs)
		}
	}
	if _, errs := compileOrigins([]string{"*", "https://a.example.com"}); len(errs) != 1 || !strings.Contains(errs[0].Error(), "list it alone") {
		t.Errorf(`"*" with others: %v`, errs)
	}
}
