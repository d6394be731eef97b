package validate

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// stdDecode decodes b as the schema library's own loader does
// (encoding/json with UseNumber), the reference for what decodeJSON yields.
func stdDecode(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, json.Unmarshal(b, &v) // a second value: let encoding/json name the error
	}
	return v, nil
}

var validJSON = []string{
	`null`, `true`, `false`, `0`, `-0`, `1.5e+10`, `-1E-2`, `123456789012345678901234567890`,
	`""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20AC\ud83d\ude00"`, `"é€😀"`,
	`[]`, `{}`, ` [ 1 , [ 2 , { } ] , "x" ] `, "{\"a\":{\"b\":[null,{\"c\":1}]},\"\":0}\n",
	`{"a":1,"A":2}`, `"\u0000"`,
}

func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range validJSON {
		got, err := decodeJSON([]byte(s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		want, err := stdDecode([]byte(s))
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", s, got, want)
		}
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	cases := []struct{ in, want string }{
		{``, "unexpected end of input at byte 0"},
		{`{"a":1,"a":2}`, `duplicate member name "a" at byte 7`},
		{`{"a":{"b":1,"b":1}}`, `duplicate member name "b" at byte 12`},
		{`{"\u0061":1,"a":2}`, `duplicate member name "a"`}, // the same name once unescaped
		{"\"\xff\"", "invalid UTF-8 in a string at byte 1"},
		{"\"a\\n\xc3\"", "invalid UTF-8 in a string"},
		{`"\ud83d"`, "lone surrogate"},
		{`"\ude00\ud83d"`, "lone surrogate"},
		{`"\ud83d\u0041"`, "lone surrogate"},
		{`"\x"`, "bad escape"},
		{`"\u12"`, `bad \u escape`},
		{"\"a\tb\"", "control character in a string at byte 2"},
		{`"abc`, "unterminated string"},
		{`01`, "data after the JSON value at byte 1"},
		{`1.`, "bad number"},
		{`-`, "bad number"},
		{`.5`, "invalid character '.'"},
		{`1e`, "bad number"},
		{`+1`, "invalid character '+'"},
		{`NaN`, "invalid character 'N'"},
		{`tru`, "invalid character 't'"},
		{`[1,]`, "invalid character ']' at byte 3"},
		{`[1 2]`, "expected ',' or ']' at byte 3"},
		{`{"a" 1}`, "expected ':' at byte 5"},
		{`{"a":1 "b":2}`, "expected ',' or '}' at byte 7"},
		{`{1:2}`, "expected a member name at byte 1"},
		{`{} {}`, "data after the JSON value at byte 3"},
		{strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth), ""},
		{strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), "nested too deeply at byte 256"},
		{strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1), "nested too deeply"},
	}
	for _, tc := range cases {
		_, err := decodeJSON([]byte(tc.in))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%.40s: %v", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%.40s: got %v, want …%s…", tc.in, err, tc.want)
		}
	}
}

// FuzzDecodeJSON: whatever decodeJSON accepts, encoding/json accepts as the
// same value; it only ever refuses more (duplicates, bad UTF-8, lone
// surrogates, depth).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range validJSON {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte("\"\xff\""))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeJSON(b)
		if err != nil {
			return
		}
		want, err := stdDecode(b)
		if err != nil {
			t.Fatalf("%q: accepted, but encoding/json says %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, want %#v", b, got, want)
		}
	})
}
