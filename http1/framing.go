package http1

// Framing says how a message body is delimited.
type Framing uint8

// Framing values. The zero value is FramingNone.
const (
	FramingNone    Framing = iota // no body
	FramingLength                 // exactly ContentLength bytes follow
	FramingChunked                // chunked body; decode with Chunked
	FramingClose                  // body runs until the connection closes (responses only)
)

// String returns the name of the framing, for logs and tests.
func (f Framing) String() string {
	switch f {
	case FramingNone:
		return "none"
	case FramingLength:
		return "length"
	case FramingChunked:
		return "chunked"
	case FramingClose:
		return "close"
	}
	return "invalid"
}

// RequestFraming reports how the body of a successfully parsed request is
// delimited: FramingChunked, FramingLength for Content-Length > 0, and
// FramingNone otherwise (a request without either has no body, RFC 9112
// §6.3; Content-Length: 0 has none either).
func RequestFraming(r *Request) Framing {
	switch {
	case r.Chunked:
		return FramingChunked
	case r.ContentLength > 0:
		return FramingLength
	}
	return FramingNone
}

// ResponseFraming reports how the body of a successfully parsed response is
// delimited (RFC 9112 §6.3): none for a response to HEAD and for 1xx, 204
// and 304; chunked when chunked is the final transfer coding; length for a
// positive Content-Length (none for 0); otherwise, including a
// Transfer-Encoding whose final coding is not chunked, the body runs until
// the upstream closes. A 2xx answer to CONNECT is a tunnel, which the caller
// handles before asking.
func ResponseFraming(headReq bool, r *Response) Framing {
	switch {
	case headReq, r.Status < 200, r.Status == 204, r.Status == 304:
		return FramingNone
	case r.Chunked:
		return FramingChunked
	case r.ContentLength > 0:
		return FramingLength
	case r.ContentLength == 0:
		return FramingNone
	}
	return FramingClose
}

// framing accumulates Content-Length and Transfer-Encoding across the
// fields of one head. Its zero value is not ready: set cl to -1.
type framing struct {
	cl          int64 // -1 until a Content-Length is seen
	te          bool  // a Transfer-Encoding field was seen
	chunked     bool  // chunked appeared (at most once)
	lastChunked bool  // the last coding seen is chunked
	other       bool  // a coding other than chunked appeared
}

// contentLength folds one Content-Length field value in. A list such as
// "42, 42" and a repeated field count as duplicates (RFC 9110 §8.6): an
// identical duplicate is ErrDuplicateContentLength unless allowDup, a
// different value is always ErrMultipleContentLength.
func (f *framing) contentLength(v []byte, allowDup bool) error {
	for {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		n, ok := ParseContentLength(trimOWS(v[:i]))
		if !ok {
			return ErrBadContentLength
		}
		if f.cl >= 0 {
			if n != f.cl {
				return ErrMultipleContentLength
			}
			if !allowDup {
				return ErrDuplicateContentLength
			}
		}
		f.cl = n
		if i == len(v) {
			return nil
		}
		v = v[i+1:]
	}
}

// transferEncoding folds one Transfer-Encoding field value in (RFC 9112
// §6.1). Syntax errors, an empty value and chunked applied twice are
// ErrBadTransferEncoding; so is a coding after chunked when request is set
// (in a response that means "read until close", RFC 9112 §6.3).
func (f *framing) transferEncoding(v []byte, request bool) error {
	f.te = true
	seen := false
	i := 0
	for {
		// Skip OWS and empty list elements (RFC 9110 §5.6.1).
		for i < len(v) && (isOWS(v[i]) || v[i] == ',') {
			i++
		}
		if i == len(v) {
			break
		}
		seen = true
		start := i
		for i < len(v) && isToken(v[i]) {
			i++
		}
		if i == start {
			return ErrBadTransferEncoding
		}
		coding := v[start:i]
		var params bool
		var ok bool
		i, params, ok = skipParams(v, i)
		if !ok {
			return ErrBadTransferEncoding
		}
		if EqualFold(coding, "chunked") {
			// chunked takes no parameters and is applied at most once.
			if params || f.chunked {
				return ErrBadTransferEncoding
			}
			f.chunked, f.lastChunked = true, true
			continue
		}
		if f.chunked && request {
			return ErrBadTransferEncoding // chunked is not the final coding
		}
		f.other, f.lastChunked = true, false
	}
	if !seen {
		return ErrBadTransferEncoding
	}
	return nil
}

// skipParams consumes *( OWS ";" OWS token BWS "=" BWS ( token /
// quoted-string ) ) OWS starting at i and stops before a ',' or the end.
func skipParams(v []byte, i int) (next int, params, ok bool) {
	for {
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		if i == len(v) || v[i] == ',' {
			return i, params, true
		}
		if v[i] != ';' {
			return i, params, false
		}
		params = true
		i++
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		s := i
		for i < len(v) && isToken(v[i]) {
			i++
		}
		if i == s {
			return i, params, false
		}
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		if i == len(v) || v[i] != '=' {
			return i, params, false
		}
		i++
		for i < len(v) && isOWS(v[i]) {
			i++
		}
		if i < len(v) && v[i] == '"' {
			if i, ok = skipQuoted(v, i); !ok {
				return i, params, false
			}
			continue
		}
		s = i
		for i < len(v) && isToken(v[i]) {
			i++
		}
		if i == s {
			return i, params, false
		}
	}
}

// skipQuoted consumes a quoted-string (RFC 9110 §5.6.4) starting at the
// opening quote v[i].
func skipQuoted(v []byte, i int) (int, bool) {
	for i++; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i == len(v) || class[v[i]]&cValue == 0 {
				return i, false
			}
		case class[c]&cQd == 0:
			return i, false
		}
	}
	return i, false
}
