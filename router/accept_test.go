package router

import (
	"errors"
	"strings"
	"testing"
)

// TestAcceptVersion pins how an Accept value is read: which media range
// names the version, and which ranges are skipped.
func TestAcceptVersion(t *testing.T) {
	cases := []struct {
		name, accept, want string // want "" = no version asked for
	}{
		{"vendor subtype with suffix", "application/vnd.example.v2+json", "2"},
		{"vendor subtype without suffix", "application/vnd.example.v2", "2"},
		{"two digits are not a prefix match", "application/vnd.example.v10+json", "10"},
		{"leading zeros are dropped", "application/vnd.example.v002+json", "2"},
		{"version zero", "application/vnd.example.v0+json", "0"},
		{"case-insensitive vnd and v", "Application/VND.Example.V3+JSON", "3"},
		{"dotted vendor name", "application/vnd.acme.orders.v4+xml", "4"},
		{"version parameter", "application/vnd.example+json; version=5", "5"},
		{"quoted version parameter", `application/json;version="6"`, "6"},
		{"parameter agrees with subtype", "application/vnd.example.v2+json;version=2", "2"},
		{"parameter disagrees: range skipped", "application/vnd.example.v2+json;version=3", ""},
		{"plain json names no version", "application/json", ""},
		{"wildcard names no version", "*/*", ""},
		{"vnd without a name", "application/vnd.v2+json", ""},
		{"label is not v<digits>", "application/vnd.example.vx+json", ""},
		{"version label with letters", "application/vnd.example.v2beta+json", ""},
		{"q=0 refuses the range", "application/vnd.example.v2+json;q=0", ""},
		{"q=0.000 refuses the range", "application/vnd.example.v2+json; q=0.000", ""},
		{"q=0 range skipped, next one used", "application/vnd.example.v2+json;q=0, application/vnd.example.v1+json", "1"},
		{"highest q wins", "application/vnd.example.v1+json;q=0.5, application/vnd.example.v2+json;q=0.9", "2"},
		{"first of equal q wins", "application/vnd.example.v3+json, application/vnd.example.v2+json", "3"},
		{"unversioned ranges do not compete", "application/json, application/vnd.example.v2+json;q=0.1", "2"},
		{"comma inside quotes does not split", `application/vnd.example.v7+json;x="a,b", application/vnd.example.v8+json;q=0.5`, "7"},
		{"OWS around ranges and parameters", " application/vnd.example.v2+json \t; q=1.0 ,text/html", "2"},
		{"malformed q skips the range", "application/vnd.example.v9+json;q=2, application/vnd.example.v1+json;q=0.1", "1"},
		{"q with four decimals is malformed", "application/vnd.example.v9+json;q=0.1234", ""},
		{"no slash is malformed", "vnd.example.v2+json", ""},
		{"empty value", "", ""},
		{"only commas", ",,,", ""},
		{"unterminated quote", `application/vnd.example.v2+json;x="abc`, ""},
		{"non-numeric version parameter", "application/json;version=two", ""},
		{"ten digits are too long", "application/vnd.example.v1234567890+json", ""},
		{"empty parameter is harmless", "application/vnd.example.v2+json;;q=1", "2"},
		{"parameter without value is malformed", "application/vnd.example.v2+json;q", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(acceptVersion([]byte(c.accept))); got != c.want {
				t.Fatalf("acceptVersion(%q) = %q; want %q", c.accept, got, c.want)
			}
		})
	}
}

// TestMatchAcceptVersion routes on the Accept header: versioned routes win
// over the unversioned one at the same pattern, which is the default.
func TestMatchAcceptVersion(t *testing.T) {
	r := build(t, []Spec{
		{Path: "/api/*", Value: 1},                                                                        // the default version
		{Path: "/api/*", AcceptVersion: "2", Value: 2},                                                    // added later, still tried first
		{Path: "/api/*", AcceptVersion: "10", Value: 10},                                                  //
		{Path: "/api/*", Headers: map[string]string{"X-Api-Version": "2"}, Value: 20},                     // header versioning
		{Path: "/api/*", Headers: map[string]string{"X-Api-Version": "3"}, AcceptVersion: "3", Value: 30}, // both conditions
		{Path: "/only-v2", AcceptVersion: "2", Value: 40},                                                 // no default here
		{Path: "/only-v2/post", AcceptVersion: "2", Methods: []string{"POST"}, Value: 41},
		{Path: "/api/special", Value: 50},                                      // a more specific path beats any version
		{Path: "/m", AcceptVersion: "2", Methods: []string{"POST"}, Value: 60}, //
		{Path: "/m", Value: 61},                                                //
	})
	v2 := hdrs{"Accept": "application/vnd.example.v2+json"}
	runCases(t, r, []matchCase{
		{name: "no Accept goes to the default", path: "/api/x", headers: hdrs{}, want: 1, params: "*=x"},
		{name: "nil header source goes to the default", path: "/api/x", want: 1, params: "*=x"},
		{name: "v2 by media type", path: "/api/x", headers: v2, want: 2, params: "*=x"},
		{name: "v10 is not v1 or v2", path: "/api/x", headers: hdrs{"Accept": "application/vnd.example.v10+json"}, want: 10, params: "*=x"},
		{name: "unknown version goes to the default", path: "/api/x", headers: hdrs{"Accept": "application/vnd.example.v7+json"}, want: 1, params: "*=x"},
		{name: "q=0 v2 is not asked for", path: "/api/x", headers: hdrs{"Accept": "application/vnd.example.v2+json;q=0, */*"}, want: 1, params: "*=x"},
		{name: "preferred of several ranges", path: "/api/x", headers: hdrs{"Accept": "application/vnd.example.v2+json;q=0.2, application/vnd.example.v10+json"}, want: 10, params: "*=x"},
		{name: "version parameter", path: "/api/x", headers: hdrs{"Accept": "application/json; version=2"}, want: 2, params: "*=x"},
		{name: "malformed Accept goes to the default", path: "/api/x", headers: hdrs{"Accept": "application/vnd.example.v2+json;q=high"}, want: 1, params: "*=x"},
		{name: "header versioning", path: "/api/x", headers: hdrs{"X-API-Version": "2"}, want: 20, params: "*=x"},
		{name: "header and media type both needed", path: "/api/x", headers: hdrs{"X-Api-Version": "3", "Accept": "application/vnd.example.v3+json"}, want: 30, params: "*=x"},
		{name: "header without media type is the default", path: "/api/x", headers: hdrs{"X-Api-Version": "3"}, want: 1, params: "*=x"},
		{name: "no default: unversioned request is 404", path: "/only-v2", headers: hdrs{}, res: NotFound},
		{name: "no default: v2 matches", path: "/only-v2", headers: v2, want: 40},
		{name: "static path beats a versioned wildcard", path: "/api/special", headers: v2, want: 50},
		// As with header conditions, a leaf answers 405 only when no route
		// at the pattern takes the method: the default serves GET for v2.
		{name: "versioned route refusing the method leaves it to the default", path: "/m", method: "GET", headers: v2, want: 61},
		{name: "versioned route refusing the method gives 405 without a default", path: "/only-v2/post", method: "GET", headers: v2, res: MethodNotAllowed, allow: "POST"},
		{name: "versioned route with its method", path: "/m", method: "POST", headers: v2, want: 60},
		{name: "unversioned request to the default", path: "/m", method: "GET", headers: hdrs{}, want: 61},
	})
}

func TestAddAcceptVersionErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		prior []Spec
		spec  Spec
		is    error
	}{
		{"not digits", nil, Spec{Path: "/a", AcceptVersion: "v2"}, ErrInvalidRoute},
		{"leading zero would never match", nil, Spec{Path: "/a", AcceptVersion: "02"}, ErrInvalidRoute},
		{"too long", nil, Spec{Path: "/a", AcceptVersion: "1234567890"}, ErrInvalidRoute},
		{"same version twice", []Spec{{Path: "/a", AcceptVersion: "2"}}, Spec{Path: "/a", AcceptVersion: "2"}, ErrDuplicateRoute},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := build(t, c.prior)
			err := r.Add(c.spec)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), "accept_version") {
				t.Fatalf("Add = %v; want %v naming accept_version", err, c.is)
			}
		})
	}
	// Another version at the same pattern is no duplicate.
	build(t, []Spec{{Path: "/a", AcceptVersion: "1"}, {Path: "/a", AcceptVersion: "2"}, {Path: "/a"}})
}

// FuzzAcceptVersion: the reader never panics, and what it returns is a
// canonical version that occurs in the input.
func FuzzAcceptVersion(f *testing.F) {
	for _, s := range []string{
		"application/vnd.example.v2+json", "application/json;version=\"3\"", "a/b;q=0,c/vnd.x.v1;q=0.5",
		`x/y;p="\",";q=1`, "application/vnd.example.v2+json;version=2", ";;,", "*/*;q=0.9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := acceptVersion([]byte(s))
		if v == nil {
			return
		}
		if checkAcceptVersion(string(v)) != nil {
			t.Fatalf("acceptVersion(%q) = %q, not a canonical version", s, v)
		}
		if !strings.Contains(s, string(v)) {
			t.Fatalf("acceptVersion(%q) = %q, not in the input", s, v)
		}
	})
}
