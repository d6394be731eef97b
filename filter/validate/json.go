package validate

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict JSON decoder (RFC 8259) into the values the schema library
// validates: map[string]any, []any, string, json.Number, bool and nil.
//
// It exists because encoding/json is lenient where a validator must not
// be: it keeps the last of two members with the same name and turns
// invalid UTF-8 into U+FFFD, so a body can pass the schema as one document
// and reach an upstream whose parser reads another (the first duplicate,
// or the raw bytes). Here a duplicate name, invalid UTF-8, a lone
// surrogate escape or nesting past maxDepth is an error, as I-JSON
// (RFC 7493) asks. It also costs less than encoding/json's reflection: the
// allocations left are the decoded values themselves.

// maxDepth bounds nesting (arrays and objects), so a hostile body cannot
// grow the loop goroutine's stack without bound.
const maxDepth = 256

// syntaxError is what is wrong with a document, and where (a byte offset).
type syntaxError struct {
	msg string
	off int
}

func (e *syntaxError) Error() string { return e.msg + " at byte " + strconv.Itoa(e.off) }

// decodeJSON decodes the one JSON value b holds (whitespace around it
// allowed).
func decodeJSON(b []byte) (any, error) {
	d := decoder{b: b}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.space(); d.i < len(d.b) {
		return nil, d.fail("data after the JSON value")
	}
	return v, nil
}

type decoder struct {
	b []byte
	i int
}

func (d *decoder) fail(msg string) error { return &syntaxError{msg, d.i} }

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.b) {
		return nil, d.fail("unexpected end of input")
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	for _, lit := range [...]struct {
		s string
		v any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(d.b)-d.i >= len(lit.s) && string(d.b[d.i:d.i+len(lit.s)]) == lit.s {
			d.i += len(lit.s)
			return lit.v, nil
		}
	}
	return nil, d.fail("invalid character " + strconv.QuoteRune(rune(d.b[d.i])))
}

func (d *decoder) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.fail("nested too deeply")
	}
	d.i++ // '{'
	obj := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return obj, nil
	}
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, d.fail("expected a member name")
		}
		at := d.i
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		if _, dup := obj[name]; dup {
			return nil, &syntaxError{"duplicate member name " + strconv.Quote(name), at}
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.fail("expected ':'")
		}
		d.i++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		obj[name] = v
		d.space()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			d.space()
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return obj, nil
		}
		return nil, d.fail("expected ',' or '}'")
	}
}

func (d *decoder) array(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.fail("nested too deeply")
	}
	d.i++ // '['
	arr := []any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return arr, nil
	}
	for {
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		d.space()
		if d.i < len(d.b) && d.b[d.i] == ',' {
			d.i++
			d.space()
			continue
		}
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return arr, nil
		}
		return nil, d.fail("expected ',' or ']'")
	}
}

// str decodes a string; d.b[d.i] is its opening quote.
func (d *decoder) str() (string, error) {
	d.i++
	start := d.i
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			if !utf8.Valid(s) {
				return "", &syntaxError{"invalid UTF-8 in a string", start}
			}
			d.i++
			return string(s), nil
		case c == '\\':
			return d.escaped(start)
		case c < 0x20:
			return "", d.fail("control character in a string")
		}
		d.i++
	}
	return "", d.fail("unterminated string")
}

// escaped decodes the rest of a string that has escapes, from its first
// backslash at d.i; its content starts at start.
func (d *decoder) escaped(start int) (string, error) {
	out := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return "", &syntaxError{"invalid UTF-8 in a string", start}
			}
			d.i++
			return string(out), nil
		case c < 0x20:
			return "", d.fail("control character in a string")
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.b) {
			break
		}
		d.i++
		switch e := d.b[d.i]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4(d.i + 1)
			if !ok {
				return "", d.fail("bad \\u escape")
			}
			d.i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if d.i+6 < len(d.b) && d.b[d.i+1] == '\\' && d.b[d.i+2] == 'u' {
					r2, ok = d.hex4(d.i + 3)
				}
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return "", d.fail("lone surrogate in a \\u escape")
				}
				d.i += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", d.fail("bad escape")
		}
		d.i++
	}
	return "", d.fail("unterminated string")
}

// hex4 reads four hex digits at i.
func (d *decoder) hex4(i int) (rune, bool) {
	if i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number as RFC 8259 §6 spells it, kept as text
// (json.Number) so the schema's numeric keywords compare it exactly.
func (d *decoder) number() (any, error) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.digits() == 0:
		return nil, d.fail("bad number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return nil, d.fail("bad number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, d.fail("bad number")
		}
	}
	return json.Number(d.b[start:d.i]), nil
}

func (d *decoder) digits() int {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}
