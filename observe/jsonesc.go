package observe

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendJSONEscaped appends s as the inside of a JSON string. Beyond what JSON
// requires (quote, backslash, C0 controls) it escapes DEL and the C1
// controls, which terminals act on, so that `tail -f audit.log` is safe
// whatever a client put in its path; invalid UTF-8 becomes U+FFFD, so the
// line is always valid JSON (as encoding/json does).
func AppendJSONEscaped[S ~string | ~[]byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			var tmp [utf8.UTFMax]byte
			r, size := utf8.DecodeRune(tmp[:copy(tmp[:], s[i:])])
			if r != utf8.RuneError && r > 0x9f {
				i += size // printable non-ASCII: kept as is
				continue
			}
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}
