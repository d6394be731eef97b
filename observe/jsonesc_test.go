package observe

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppendJSONEscaped checks that any bytes come out as one valid JSON string
// that decodes to the input (invalid UTF-8 replaced byte by byte with
// U+FFFD, as encoding/json does) and carries no raw control byte. `go test`
// runs the seeds; `go test -fuzz FuzzAppendJSONEscaped` explores.
func FuzzAppendJSONEscaped(f *testing.F) {
	for _, s := range []string{
		"", "/plain", `"\`, "\x00\x1f\x7f", "\u0080\u009f\u00a0", "\xff\xfe", "\xe6\x97",
		"日本\u2028\ufffd", `/","x":"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := AppendJSONEscaped([]byte(`"`), in)
		out = append(out, '"')
		for _, c := range out {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("raw control byte %#x in %q", c, out)
			}
		}
		if strings.ContainsAny(string(out), "\u0080\u0085\u009b\u009f") {
			t.Fatalf("raw C1 control in %q", out)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%q -> %q: %v", in, out, err)
		}
		var want []rune
		for i := 0; i < len(in); {
			r, n := utf8.DecodeRune(in[i:])
			want = append(want, r)
			i += n
		}
		if got != string(want) {
			t.Fatalf("%q -> %q decodes to %q", in, out, got)
		}
		// The string and []byte forms agree.
		if s := AppendJSONEscaped(nil, string(in)); string(s) != string(out[1:len(out)-1]) {
			t.Fatalf("string form %q, bytes form %q", s, out)
		}
	})
}
