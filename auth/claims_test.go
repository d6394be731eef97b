package auth

import (
	"encoding/json"
	"testing"
)

func TestAppendClaim(t *testing.T) {
	cases := []struct {
		name string
		json string // the claim value as it appears in a token
		want string
		ok   bool
	}{
		{"string", `"user-7"`, "user-7", true},
		{"integer", `42`, "42", true},
		// A 64-bit ID survives: no float64 rounding.
		{"big integer", `9007199254740993123`, "9007199254740993123", true},
		{"negative", `-3`, "-3", true},
		{"exponent", `1e3`, "1000", true},
		{"exponent fraction", `1.5E2`, "150", true},
		{"fraction", `0.25`, "0.25", true},
		{"tiny", `1e-7`, "0.0000001", true},
		{"bool", `true`, "true", true},
		{"null", `null`, "", false},
		{"array", `["a","b",3]`, "a,b,3", true},
		{"array with null", `["a",null,"b"]`, "a,b", true},
		{"empty array", `[]`, "", true},
		{"nested array", `["a",["b","c"]]`, `a,["b","c"]`, true},
		{"object", `{"b":1,"a":"x"}`, `{"a":"x","b":1}`, true},
		{"unicode", `"Zoë"`, "Zoë", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeClaims([]byte(`{"v":` + tc.json + `}`))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := AppendClaim([]byte("<"), m["v"])
			if ok != tc.ok || string(got) != "<"+tc.want {
				t.Errorf("AppendClaim(%s) = %q, %v; want %q, %v", tc.json, got, ok, "<"+tc.want, tc.ok)
			}
		})
	}
	if got, _ := AppendClaim(nil, 2.5); string(got) != "2.5" {
		t.Errorf("float64: %q", got)
	}
	if got, _ := AppendClaim(nil, json.Number("7")); string(got) != "7" {
		t.Errorf("json.Number: %q", got)
	}
}

func TestSafeHeaderValue(t *testing.T) {
	for v, want := range map[string]bool{
		"plain":          true,
		"Zoë Ünïcode":    true,
		"a b,c;d=\"e\"":  true,
		"evil\r\nX-A: 1": false,
		"lf\nonly":       false,
		"nul\x00":        false,
		"tab\there":      false,
		"del\x7f":        false,
	} {
		if got := SafeHeaderValue([]byte(v)); got != want {
			t.Errorf("SafeHeaderValue(%q) = %v", v, got)
		}
	}
}
