package filter

import (
	"bytes"

	"github.com/sluicehq/sluice/http1"
)

// AddListToken adds token to the comma-separated list header name, as
// Vary: Accept-Encoding or Vary: Origin, unless the response lists it
// already (or lists "*"): the upstream's lines of that name, those filters
// added and the token become one line, merged, never duplicated. Tokens
// compare case-insensitively. name and token should be constants.
// ResponseHead only; no allocation in the steady state.
func (r *Response) AddListToken(name, token string) {
	x := r.x
	n := 0
	for i := range r.Headers {
		h := &r.Headers[i]
		if !http1.EqualFold(h.Name, name) || x.ResponseRemoved(h.Name) {
			continue
		}
		if http1.HasToken(h.Value, token) || http1.HasToken(h.Value, "*") {
			return
		}
		n++
	}
	for rest := x.respHeaders; len(rest) > 0; {
		v, next, ok := nextLineNamed(rest, name)
		if !ok {
			break
		}
		rest = next
		if http1.HasToken(v, token) || http1.HasToken(v, "*") {
			return
		}
		n++
	}
	if n == 0 {
		x.respHeaders = append(append(append(append(x.respHeaders, name...), ": "...), token...), "\r\n"...)
		return
	}
	// Join into scratch first: Set drops the lines being read.
	b := x.listBuf[:0]
	for i := range r.Headers {
		if h := &r.Headers[i]; http1.EqualFold(h.Name, name) && !x.ResponseRemoved(h.Name) {
			b = append(append(b, h.Value...), ", "...)
		}
	}
	for rest := x.respHeaders; len(rest) > 0; {
		v, next, ok := nextLineNamed(rest, name)
		if !ok {
			break
		}
		rest = next
		b = append(append(b, v...), ", "...)
	}
	b = append(b, token...)
	x.listBuf = b
	r.Set(name, b)
}

// nextLineNamed returns the value of the first header line called name in
// lines ("Name: value\r\n" each) and the lines after it; ok is false
// when there is none.
func nextLineNamed(lines []byte, name string) (value, rest []byte, ok bool) {
	for len(lines) > 0 {
		var n, line []byte
		n, line, lines = cutLine(lines)
		if n != nil && http1.EqualFold(n, name) {
			return bytes.TrimSpace(line[len(n)+1:]), lines, true
		}
	}
	return nil, nil, false
}
