package auth

import "testing"

func TestBearer(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer abc.def.ghi":  "abc.def.ghi",
		"bearer abc":          "abc",
		"BEARER   abc  ":      "abc",
		"Bearer":              "",
		"Bearer ":             "",
		"Bearerabc":           "",
		"Basic dXNlcjpwdw==":  "",
		"Bearer\tabc":         "",
		"Token abc":           "",
		"":                    "",
		"Bearer a b":          "a b", // the verifier refuses the space
		"Bearer eyJ.eyJ.sig=": "eyJ.eyJ.sig=",
	} {
		if got := string(Bearer([]byte(in))); got != want {
			t.Errorf("Bearer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryParam(t *testing.T) {
	cases := []struct {
		query, name, want string
		ok                bool
	}{
		{"access_token=abc", "access_token", "abc", true},
		{"a=1&access_token=abc&b=2", "access_token", "abc", true},
		{"access_token", "access_token", "", true},
		{"access_token=a&access_token=b", "access_token", "a", true},
		{"xaccess_token=abc", "access_token", "", false},
		{"", "access_token", "", false},
		{"a=%41", "a", "%41", true}, // raw, not decoded
	}
	for _, tc := range cases {
		got, ok := QueryParam([]byte(tc.query), tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("QueryParam(%q, %q) = %q, %v", tc.query, tc.name, got, ok)
		}
	}
}

func TestPercentDecode(t *testing.T) {
	for in, want := range map[string]string{
		"abc":       "abc",
		"a%20b":     "a b",
		"a+b":       "a+b",
		"%2B%2b":    "++",
		"%e2%82%ac": "€",
	} {
		got, ok := PercentDecode(nil, []byte(in))
		if !ok || string(got) != want {
			t.Errorf("PercentDecode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"%", "%4", "%zz", "a%2"} {
		if _, ok := PercentDecode(nil, []byte(bad)); ok {
			t.Errorf("PercentDecode(%q) ok", bad)
		}
	}
	var buf [64]byte
	src := []byte("key%2Dwith%2Descapes")
	if n := testing.AllocsPerRun(100, func() { _, _ = PercentDecode(buf[:0], src) }); n != 0 {
		t.Errorf("PercentDecode allocates %v times", n)
	}
}
