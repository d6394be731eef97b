package http1

import "bytes"

// Default limits, used where a Limits field is zero.
const (
	DefaultMaxHeaderBytes = 32 << 10
	DefaultMaxURIBytes    = 8 << 10
	DefaultMaxHeaders     = 100
)

// maxLeadingEmptyLines bounds the empty lines skipped before a request line
// (RFC 9112 §2.2 asks servers to ignore "at least one"); more is garbage.
const maxLeadingEmptyLines = 4

// Limits bounds what ParseRequest accepts. The zero value (and a nil
// *Limits) means the defaults below and the strict behaviour described on
// each flag.
type Limits struct {
	// MaxHeaderBytes bounds the whole head, including the request line,
	// skipped leading empty lines and the final CRLFCRLF. 0 means 32 KiB.
	// Exceeding it is ErrHeaderTooLarge (431).
	MaxHeaderBytes int
	// MaxURIBytes bounds the request-target. 0 means 8 KiB. Exceeding it is
	// ErrURITooLong (414), reported as soon as the partial target is too
	// long, before the line is complete.
	MaxURIBytes int
	// MaxHeaders bounds the number of header fields. 0 means 100. Exceeding
	// it is ErrTooManyHeaders (431).
	MaxHeaders int
	// AllowDuplicateContentLength accepts identical repeated Content-Length
	// values ("42, 42" or two fields with 42) as one value, which RFC 9110
	// §8.6 permits. false (the default) rejects them with
	// ErrDuplicateContentLength, as the desync corpus asks: a duplicate
	// means a broken or hostile intermediary.
	AllowDuplicateContentLength bool
	// AllowGETBody accepts GET and HEAD requests with a body. false (the
	// default) rejects them with ErrUnexpectedBody when Content-Length is
	// positive or Transfer-Encoding is present: such content has no defined
	// semantics (RFC 9110 §9.3.1) and some servers ignore it, which is how
	// the body becomes a smuggled request.
	AllowGETBody bool
}

// Request is a parsed request head. Every []byte field is a view into the
// buffer given to ParseRequest. The zero value is an empty request; reuse
// one Request per connection so the Headers array is reused too.
type Request struct {
	Method []byte // token, e.g. "GET"; nil before a parse
	Target []byte // raw request-target as sent
	// Path is the path of the target: for origin-form the target before
	// '?'; for absolute-form (http://h/p?q) the path part, "/" when empty
	// (then not a view into the buffer); "*" for asterisk-form; nil for
	// authority-form (CONNECT).
	Path  []byte
	Query []byte // after '?'; empty for a bare '?'; nil without '?'

	Minor   int      // 0 for HTTP/1.0, 1 for HTTP/1.1
	Headers []Header // all fields in order, names as sent

	// Host is the Host header value, or for absolute-form the authority
	// from the target (RFC 9112 §3.2.2). nil when absent; may be empty.
	Host []byte
	// ContentLength is the Content-Length value, -1 when absent (also
	// after Reset). The zero Request has 0 here, not -1.
	ContentLength int64
	Chunked       bool // Transfer-Encoding with chunked as final coding
	// KeepAlive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with
	// "Connection: keep-alive".
	KeepAlive bool
	Expect100 bool // "Expect: 100-continue" (case-insensitive)
	Upgrade   bool // Connection lists "upgrade" and an Upgrade field exists
	// HeadLen is the length of the head including skipped leading empty
	// lines and the final empty line: the body (or the next pipelined
	// request) starts at buf[HeadLen].
	HeadLen int
}

// Reset clears r for reuse, keeping the capacity of Headers.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}

// Header returns the value of the first field named name (ASCII
// case-insensitive), or nil if there is none.
func (r *Request) Header(name string) []byte { return lookup(r.Headers, name) }

// ParseRequest parses the request head at the start of buf into r (which
// it resets first) and returns the head length n == r.HeadLen. lim may be
// nil for the defaults.
//
// When buf holds only part of a head that is still within limits it
// returns (0, ErrIncomplete): append more bytes and call again. Errors found
// in complete lines are reported at once, even if the head is incomplete,
// so garbage is rejected without waiting for the rest. Any other error is
// an *Error with the status to answer; the connection must then be closed,
// since its framing can no longer be trusted.
//
// In the steady state (r reused, Headers large enough) it does not
// allocate.
func ParseRequest(buf []byte, r *Request, lim *Limits) (n int, err error) {
	r.Reset()
	maxHead, maxURI, maxHeaders := DefaultMaxHeaderBytes, DefaultMaxURIBytes, DefaultMaxHeaders
	var allowDup, allowGETBody bool
	if lim != nil {
		if lim.MaxHeaderBytes > 0 {
			maxHead = lim.MaxHeaderBytes
		}
		if lim.MaxURIBytes > 0 {
			maxURI = lim.MaxURIBytes
		}
		if lim.MaxHeaders > 0 {
			maxHeaders = lim.MaxHeaders
		}
		allowDup, allowGETBody = lim.AllowDuplicateContentLength, lim.AllowGETBody
	}

	pos := 0
	for k := 0; ; k++ {
		if pos >= len(buf) {
			return 0, moreOrTooLarge(buf, maxHead)
		}
		if buf[pos] == '\n' {
			return 0, ErrBareLF
		}
		if buf[pos] != '\r' {
			break
		}
		if pos+1 >= len(buf) {
			return 0, moreOrTooLarge(buf, maxHead)
		}
		if buf[pos+1] != '\n' || k == maxLeadingEmptyLines {
			return 0, ErrBadRequestLine
		}
		pos += 2
	}

	i := bytes.IndexByte(window(buf, maxHead)[pos:], '\n')
	if i < 0 {
		return 0, partialRequestLine(buf, pos, maxURI, maxHead)
	}
	end := pos + i
	if buf[end-1] != '\r' {
		return 0, ErrBareLF
	}
	if err := r.parseRequestLine(buf[pos:end-1], maxURI); err != nil {
		return 0, err
	}
	pos = end + 1

	f := framing{cl: -1}
	var hosts int
	var connClose, connKeepAlive, connUpgrade, upgrade bool
	for first := true; ; first = false {
		name, value, next, kind, err := nextField(buf, pos, maxHead, first)
		if err != nil {
			return 0, err
		}
		pos = next
		if kind == gotEnd {
			break
		}
		if len(r.Headers) == maxHeaders {
			return 0, ErrTooManyHeaders
		}
		r.Headers = append(r.Headers, Header{name, value})

		// Dispatch on length first: most fields match no case at all.
		switch len(name) {
		case 4:
			if EqualFold(name, "host") {
				if hosts++; hosts > 1 {
					return 0, ErrDuplicateHost
				}
				if !validHost(value, false) {
					return 0, ErrBadHost
				}
				if r.Host == nil {
					r.Host = value
				}
				continue
			}
		case 6:
			if EqualFold(name, "expect") {
				// RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0.
				r.Expect100 = r.Expect100 || r.Minor == 1 && EqualFold(value, "100-continue")
				continue
			}
		case 7:
			if EqualFold(name, "upgrade") {
				upgrade = true
				continue
			}
		case 10:
			if EqualFold(name, "connection") {
				for tok, rest := NextToken(value); tok != nil; tok, rest = NextToken(rest) {
					switch {
					case EqualFold(tok, "close"):
						connClose = true
					case EqualFold(tok, "keep-alive"):
						connKeepAlive = true
					case EqualFold(tok, "upgrade"):
						connUpgrade = true
					}
				}
				continue
			}
		case 14:
			if EqualFold(name, "content-length") {
				if err := f.contentLength(value, allowDup); err != nil {
					return 0, err
				}
				continue
			}
		case 17:
			if EqualFold(name, "transfer-encoding") {
				// RFC 9112 §6.1: TE in an HTTP/1.0 request means faulty
				// framing; it may come from a 1.1 client behind a 1.0
				// proxy that forwarded a chunked body as is.
				if r.Minor == 0 {
					return 0, ErrBadTransferEncoding
				}
				if err := f.transferEncoding(value, true); err != nil {
					return 0, err
				}
				continue
			}
		}
		if looksLikeFramingName(name) {
			return 0, ErrSuspiciousHeader
		}
	}

	if hosts == 0 && r.Minor == 1 {
		return 0, ErrMissingHost // RFC 9112 §3.2: MUST respond 400
	}
	if f.te {
		// Checked in this order so that every ambiguous or malformed
		// framing is a 400 and only a well-formed chunked message with an
		// extra coding we do not implement gets 501.
		if f.cl >= 0 {
			return 0, ErrAmbiguousFraming
		}
		if !f.lastChunked {
			return 0, ErrBadTransferEncoding
		}
	}
	if !allowGETBody && (f.te || f.cl > 0) && isGetOrHead(r.Method) {
		return 0, ErrUnexpectedBody
	}
	if f.other {
		return 0, ErrUnsupportedTransferEncoding
	}
	r.ContentLength = f.cl
	r.Chunked = f.te
	if r.Minor == 1 {
		r.KeepAlive = !connClose
	} else {
		r.KeepAlive = connKeepAlive && !connClose
	}
	r.Upgrade = connUpgrade && upgrade
	r.HeadLen = pos
	return pos, nil
}

func isGetOrHead(m []byte) bool {
	return string(m) == "GET" || string(m) == "HEAD"
}

// parseRequestLine parses method SP request-target SP HTTP-version (RFC
// 9112 §3): single spaces, nothing else around them.
func (r *Request) parseRequestLine(line []byte, maxURI int) error {
	m := 0
	// Fast path for the common methods; anything else takes the loop.
	switch {
	case len(line) > 4 && line[0] == 'G' && string(line[:4]) == "GET ":
		m = 3
	case len(line) > 5 && line[0] == 'P' && string(line[:5]) == "POST ":
		m = 4
	default:
		for m < len(line) && isToken(line[m]) {
			m++
		}
	}
	if m == 0 || m == len(line) || line[m] != ' ' {
		return ErrBadRequestLine
	}
	r.Method = line[:m]
	rest := line[m+1:]
	t := bytes.IndexByte(rest, ' ')
	if t < 0 {
		if len(rest) > maxURI {
			return ErrURITooLong
		}
		return ErrBadRequestLine
	}
	if t == 0 {
		return ErrBadRequestLine // two spaces
	}
	if t > maxURI {
		return ErrURITooLong
	}
	minor, err := parseVersion(rest[t+1:])
	if err != nil {
		return err
	}
	r.Minor = minor
	return r.parseTarget(rest[:t])
}

// partialRequestLine judges a buffer whose request line (from pos) has no
// LF yet: 414 as soon as the target so far is too long, 431 when the buffer
// is full, else incomplete.
func partialRequestLine(buf []byte, pos, maxURI, maxHead int) error {
	p := window(buf, maxHead)[pos:]
	if sp := bytes.IndexByte(p, ' '); sp >= 0 {
		t := p[sp+1:]
		if e := bytes.IndexByte(t, ' '); e >= 0 {
			t = t[:e]
		}
		if len(t) > maxURI {
			return ErrURITooLong
		}
	} else if len(p) > maxURI {
		// No method ends this early: the line is longer than any
		// acceptable target already.
		return ErrURITooLong
	}
	return moreOrTooLarge(buf, maxHead)
}
