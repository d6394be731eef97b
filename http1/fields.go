package http1

import "bytes"

// Outcomes of nextField besides an error.
const (
	gotField = iota // a field line was parsed
	gotEnd          // the empty line ending the head was consumed
	needMore        // the buffer ends inside the head
)

// nextField parses the field line (or final empty line) starting at pos.
// first says whether it follows the start line directly, where leading
// whitespace is not folding but still invalid (RFC 9112 §2.2). maxHead bounds
// the whole head; a line that would end beyond it fails with
// ErrHeaderTooLarge, and so does an incomplete head that already fills it.
//
// Shared by requests and responses so both get the same strictness.
func nextField(buf []byte, pos, maxHead int, first bool) (name, value []byte, next, kind int, err error) {
	if pos >= len(buf) {
		return nil, nil, pos, needMore, moreOrTooLarge(buf, maxHead)
	}
	switch buf[pos] {
	case '\r':
		if pos+1 >= len(buf) {
			return nil, nil, pos, needMore, moreOrTooLarge(buf, maxHead)
		}
		if buf[pos+1] != '\n' {
			return nil, nil, pos, 0, ErrBadHeader // bare CR
		}
		if pos+2 > maxHead {
			return nil, nil, pos, 0, ErrHeaderTooLarge
		}
		return nil, nil, pos + 2, gotEnd, nil
	case '\n':
		return nil, nil, pos, 0, ErrBareLF
	case ' ', '\t':
		if first {
			return nil, nil, pos, 0, ErrBadHeader
		}
		return nil, nil, pos, 0, ErrObsFold
	}
	// Search only up to the limit: a line ending beyond it fails anyway,
	// and this bounds the work per call whatever the buffer holds.
	i := bytes.IndexByte(window(buf, maxHead)[pos:], '\n')
	if i < 0 {
		return nil, nil, pos, needMore, moreOrTooLarge(buf, maxHead)
	}
	end := pos + i // index of '\n'; end-1 >= pos because buf[pos] != '\n'

	if buf[end-1] != '\r' {
		return nil, nil, pos, 0, ErrBareLF
	}
	line := buf[pos : end-1]
	// field-name = token, then ':' with no whitespace before it (RFC 9112
	// §5.1: a server MUST reject such a line).
	n := 0
	for n < len(line) && class[line[n]]&cToken != 0 {
		n++
	}
	if n == 0 || n == len(line) || line[n] != ':' {
		return nil, nil, pos, 0, ErrBadHeader
	}
	v := line[n+1:]
	for len(v) > 0 && isOWS(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isOWS(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	// No CTL except HTAB; this also catches a bare CR inside the value.
	if !validValue(v) {
		return nil, nil, pos, 0, ErrBadHeader
	}
	return line[:n], v, end + 1, gotField, nil
}

// window returns buf cut to at most maxHead bytes.
func window(buf []byte, maxHead int) []byte {
	if len(buf) > maxHead {
		return buf[:maxHead]
	}
	return buf
}

// moreOrTooLarge is the verdict on a buffer that ends inside the head.
func moreOrTooLarge(buf []byte, maxHead int) error {
	if len(buf) >= maxHead {
		return ErrHeaderTooLarge
	}
	return ErrIncomplete
}

// parseVersion checks an HTTP-version (RFC 9112 §2.3). It returns the minor
// version for HTTP/1.0 and HTTP/1.1, ErrBadVersion (505) for a well-formed
// version we do not speak with major >= 1, and ErrMalformedVersion (400)
// otherwise. "HTTP/0.9" is 400, not 505: HTTP/0.9 never sent a version, so a
// line claiming it is not a real message of any version.
func parseVersion(v []byte) (int, error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, ErrMalformedVersion
	}
	if v[5] == '1' && (v[7] == '0' || v[7] == '1') {
		return int(v[7] - '0'), nil
	}
	if v[5] == '0' {
		return 0, ErrMalformedVersion
	}
	return 0, ErrBadVersion
}
