package http1

import "bytes"

// Response is a parsed response head. Every []byte field is a view into the
// buffer given to ParseResponse. The zero value is an empty response; reuse
// one per upstream connection so the Headers array is reused.
type Response struct {
	Minor   int // 0 for HTTP/1.0, 1 for HTTP/1.1
	Status  int // 100..999
	Reason  []byte
	Headers []Header // all fields in order, names as sent
	// ContentLength is the Content-Length value, -1 when absent (also
	// after Reset). The zero Response has 0 here, not -1.
	ContentLength int64
	// Chunked reports a Transfer-Encoding whose final coding is chunked. A
	// Transfer-Encoding with another final coding leaves it false and
	// ContentLength -1, so ResponseFraming says FramingClose.
	Chunked bool
	// KeepAlive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
	// "Connection: keep-alive". Check ResponseFraming too: a body
	// delimited by close ends the connection anyway.
	KeepAlive bool
	HeadLen   int // length of the head including the final empty line
}

// Reset clears r for reuse, keeping the capacity of Headers.
func (r *Response) Reset() {
	*r = Response{Headers: r.Headers[:0], ContentLength: -1}
}

// Header returns the value of the first field named name (ASCII
// case-insensitive), or nil if there is none.
func (r *Response) Header(name string) []byte { return lookup(r.Headers, name) }

// ParseResponse parses the response head at the start of buf into r (which
// it resets first) and returns the head length n == r.HeadLen. maxHead
// bounds the head; 0 means 32 KiB. An incomplete head within the limit is
// (0, ErrIncomplete).
//
// Field syntax is as strict as for requests, since a response we forward is
// parsed again by the client. Framing follows RFC 9112 §6.3: both
// Transfer-Encoding and Content-Length, differing Content-Length values and
// chunked applied twice are errors; identical duplicate Content-Length
// values are accepted as one (RFC 9110 §8.6), as upstream stacks do send
// them. Any error means the upstream is broken: answer 502 and close it.
func ParseResponse(buf []byte, r *Response, maxHead int) (n int, err error) {
	r.Reset()
	if maxHead <= 0 {
		maxHead = DefaultMaxHeaderBytes
	}
	pos, err := r.parseStatusLine(buf, maxHead)
	if err != nil {
		return 0, err
	}
	f := framing{cl: -1}
	var connClose, connKeepAlive bool
	for first := true; ; first = false {
		name, value, next, kind, err := nextField(buf, pos, maxHead, first)
		if err != nil {
			return 0, err
		}
		pos = next
		if kind == gotEnd {
			break
		}
		r.Headers = append(r.Headers, Header{name, value})
		switch len(name) {
		case 10:
			if EqualFold(name, "connection") {
				connClose = connClose || HasToken(value, "close")
				connKeepAlive = connKeepAlive || HasToken(value, "keep-alive")
				continue
			}
		case 14:
			if EqualFold(name, "content-length") {
				if err := f.contentLength(value, true); err != nil {
					return 0, err
				}
				continue
			}
		case 17:
			if EqualFold(name, "transfer-encoding") {
				if err := f.transferEncoding(value, false); err != nil {
					return 0, err
				}
				continue
			}
		}
		if looksLikeFramingName(name) {
			return 0, ErrSuspiciousHeader
		}
	}
	if f.te && f.cl >= 0 {
		return 0, ErrAmbiguousFraming
	}
	r.ContentLength = f.cl
	r.Chunked = f.te && f.lastChunked
	if r.Minor == 1 {
		r.KeepAlive = !connClose
	} else {
		r.KeepAlive = connKeepAlive && !connClose
	}
	r.HeadLen = pos
	return pos, nil
}

// parseStatusLine parses HTTP-version SP 3DIGIT SP [reason] CRLF (RFC 9112
// §4) and returns the offset after it. The SP before an empty reason may be
// missing: some servers omit it, and it changes nothing about framing.
func (r *Response) parseStatusLine(buf []byte, maxHead int) (int, error) {
	// Anything that does not start like "HTTP/" is not a response, and
	// waiting for its line end would only turn a broken upstream into a
	// timeout; check what has arrived of the prefix first.
	const prefix = "HTTP/"
	if k := min(len(buf), len(prefix)); string(buf[:k]) != prefix[:k] {
		return 0, ErrBadStatusLine
	}
	end := bytes.IndexByte(window(buf, maxHead), '\n')
	if end < 0 {
		return 0, moreOrTooLarge(buf, maxHead)
	}
	if end == 0 || buf[end-1] != '\r' {
		return 0, ErrBareLF
	}
	line := buf[:end-1]
	if len(line) < 12 || line[8] != ' ' {
		return 0, ErrBadStatusLine
	}
	minor, err := parseVersion(line[:8])
	if err != nil {
		return 0, err
	}
	d0, d1, d2 := line[9], line[10], line[11]
	if d0 < '1' || d0 > '9' || d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return 0, ErrBadStatusLine
	}
	r.Minor = minor
	r.Status = int(d0-'0')*100 + int(d1-'0')*10 + int(d2-'0')
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, ErrBadStatusLine
		}
		reason := line[13:]
		for _, c := range reason {
			if class[c]&cValue == 0 {
				return 0, ErrBadStatusLine
			}
		}
		r.Reason = reason
	}
	return end + 1, nil
}
