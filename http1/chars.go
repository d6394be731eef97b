package http1

import "encoding/binary"

// Byte class tables. A table lookup per byte is the cheapest strict check
// there is, and it keeps the grammar in one place.

const (
	cToken  = 1 << iota // tchar (RFC 9110 §5.6.2)
	cValue              // field-vchar, SP or HTAB (RFC 9110 §5.5): no CTL except HTAB
	cTarget             // visible ASCII allowed in a request-target (no '#')
	cHost               // unreserved / sub-delims / '%' (RFC 3986 reg-name)
	cQd                 // qdtext (RFC 9110 §5.6.4)
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		isAlnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		var k uint8
		if isAlnum {
			k |= cToken | cHost
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			k |= cToken
		}
		switch c {
		case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', '%':
			k |= cHost
		}
		if c == '\t' || c == ' ' || c >= 0x21 && c != 0x7f {
			k |= cValue
		}
		if c >= 0x21 && c <= 0x7e && c != '#' {
			k |= cTarget
		}
		if c == '\t' || c == ' ' || c == 0x21 || c >= 0x23 && c <= 0x5b || c >= 0x5d && c <= 0x7e || c >= 0x80 {
			k |= cQd
		}
		t[c] = k
	}
	return t
}()

func isToken(c byte) bool { return class[c]&cToken != 0 }

// IsFieldName reports whether s is a valid field name: a non-empty token
// (RFC 9110 §5.1, §5.6.2). Config checks use it for header names.
func IsFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isToken(s[i]) {
			return false
		}
	}
	return s != ""
}

// IsToken reports whether b is a non-empty token (RFC 9110 §5.6.2), so it
// may stand as a parameter value without quotes.
func IsToken(b []byte) bool {
	for _, c := range b {
		if !isToken(c) {
			return false
		}
	}
	return len(b) > 0
}

// FirstNonToken is the index of the first byte of s that is not a token
// character, or -1.
func FirstNonToken(s string) int {
	for i := 0; i < len(s); i++ {
		if !isToken(s[i]) {
			return i
		}
	}
	return -1
}

// hexVal maps a hex digit to its value and anything else to 0xff.
var hexVal = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = uint8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = uint8(c-'a') + 10
		t[c-'a'+'A'] = uint8(c-'a') + 10
	}
	return t
}()

// lower folds ASCII letters only: header names are ASCII and a Unicode-aware
// fold would let "Tranſfer-Encoding" (long s) match, which is exactly the
// confusion an attacker wants.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS strips optional whitespace (SP, HTAB) on both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// validValue reports whether every byte of a field value is field-vchar,
// SP or HTAB (no CTL except HTAB, no DEL; obs-text allowed). Values are
// most of a head, so it checks 8 bytes at a time and looks at single bytes
// only in a word that holds a byte below 0x20 (usually an HTAB) or a DEL.
func validValue(v []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		lt20 := (x - ones*0x20) &^ x & highs // some byte < 0x20
		d := x ^ ones*0x7f
		del := (d - ones) &^ d & highs // some byte == 0x7f
		if lt20|del != 0 {
			for _, c := range v[:8] {
				if class[c]&cValue == 0 {
					return false
				}
			}
		}
		v = v[8:]
	}
	for _, c := range v {
		if class[c]&cValue == 0 {
			return false
		}
	}
	return true
}
