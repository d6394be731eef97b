package http1

// Header is one field line. Name and Value are views into the parsed buffer;
// Value has leading and trailing OWS removed. The zero value is an empty
// field.
type Header struct{ Name, Value []byte }

// lookup returns the first value whose name equals name ignoring ASCII case.
func lookup(hs []Header, name string) []byte {
	for i := range hs {
		if EqualFold(hs[i].Name, name) {
			return hs[i].Value
		}
	}
	return nil
}

// EqualFold reports whether a equals b ignoring ASCII case. Only ASCII
// letters fold (see lower), so non-ASCII look-alikes never match.
func EqualFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// IsHopByHop reports whether name is a hop-by-hop header that a proxy must
// not forward (RFC 9110 §7.6.1): Connection, Keep-Alive, Proxy-Connection,
// Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding and
// Upgrade. Headers named in Connection are hop-by-hop too; check those with
// HasToken.
func IsHopByHop(name []byte) bool {
	// Switch on length first so most names cost one comparison.
	switch len(name) {
	case 2:
		return EqualFold(name, "te")
	case 7:
		return EqualFold(name, "trailer") || EqualFold(name, "upgrade")
	case 10:
		return EqualFold(name, "connection") || EqualFold(name, "keep-alive")
	case 16:
		return EqualFold(name, "proxy-connection")
	case 17:
		return EqualFold(name, "transfer-encoding")
	case 18:
		return EqualFold(name, "proxy-authenticate")
	case 19:
		return EqualFold(name, "proxy-authorization")
	}
	return false
}

// NextToken returns the first element of a comma-separated list (RFC 9110
// §5.6.1) with surrounding OWS removed, and the rest of the list after its
// comma. Empty elements are skipped, as the RFC asks of recipients. tok is
// nil when the list holds no more elements. Iterate without allocating:
//
//	for tok, rest := NextToken(list); tok != nil; tok, rest = NextToken(rest) { ... }
func NextToken(list []byte) (tok, rest []byte) {
	for {
		for len(list) > 0 && (isOWS(list[0]) || list[0] == ',') {
			list = list[1:]
		}
		if len(list) == 0 {
			return nil, nil
		}
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		tok, rest = trimOWS(list[:i]), list[i:]
		if len(rest) > 0 {
			rest = rest[1:]
		}
		if len(tok) > 0 {
			return tok, rest
		}
		list = rest
	}
}

// HasToken reports whether the comma-separated list contains token,
// ignoring ASCII case and OWS, e.g. HasToken("keep-alive, Upgrade",
// "upgrade") is true.
func HasToken(list []byte, token string) bool {
	for tok, rest := NextToken(list); tok != nil; tok, rest = NextToken(rest) {
		if EqualFold(tok, token) {
			return true
		}
	}
	return false
}

// ParseContentLength parses a Content-Length value: one or more ASCII
// digits and nothing else (no sign, space, list or hex), at most
// 9223372036854775807. ok is false otherwise.
func ParseContentLength(b []byte) (n int64, ok bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0') // 19 digits cannot overflow uint64
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// looksLikeFramingName reports whether name (already a valid token that is
// not exactly Content-Length or Transfer-Encoding) imitates one of them, e.g.
// "Transfer_Encoding" or "Content---Length". Some servers normalise '_' to
// '-' or drop punctuation; if the upstream does and we do not, the two
// disagree on the body length, so such names are rejected.
func looksLikeFramingName(name []byte) bool {
	if len(name) < len("contentlength") || len(name) > 40 {
		return false
	}
	if c := lower(name[0]); c != 'c' && c != 't' {
		return false
	}
	var buf [40]byte
	n := 0
	for _, c := range name {
		switch c {
		case '-', '_', '.', '~':
			continue
		}
		buf[n] = lower(c)
		n++
	}
	s := string(buf[:n]) // compared, not stored: does not allocate
	return s == "contentlength" || s == "transferencoding"
}
