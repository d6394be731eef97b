package auth

// Byte-level helpers that find a credential in a request without
// allocating. They return views into their input.

// Bearer returns the token of an Authorization value using the Bearer
// scheme (RFC 6750 §2.1: scheme matched case-insensitively, one or more
// spaces, then the token), or nil for another scheme or an empty token.
func Bearer(v []byte) []byte {
	const scheme = "bearer"
	if len(v) <= len(scheme) || v[len(scheme)] != ' ' {
		return nil
	}
	for i := 0; i < len(scheme); i++ {
		if v[i]|0x20 != scheme[i] {
			return nil
		}
	}
	v = v[len(scheme):]
	for len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if len(v) == 0 {
		return nil
	}
	return v
}

// QueryParam returns the raw (still percent-encoded) value of the first
// parameter called name in a query string ("a=1&b=2", without '?'); ok is
// false when there is none. A parameter without '=' has an empty value.
// Names match exactly, undecoded.
func QueryParam(query []byte, name string) (val []byte, ok bool) {
	for len(query) > 0 {
		var pair []byte
		if i := indexByte(query, '&'); i >= 0 {
			pair, query = query[:i], query[i+1:]
		} else {
			pair, query = query, nil
		}
		k, v := pair, []byte(nil)
		if eq := indexByte(pair, '='); eq >= 0 {
			k, v = pair[:eq], pair[eq+1:]
		}
		if string(k) == name {
			return v, true
		}
	}
	return nil, false
}

// PercentDecode appends src with %XX escapes decoded (RFC 3986 §2.1) to
// dst; ok is false on a malformed escape. '+' stays '+': it is a space
// only in HTML form encoding, and base64 keys are full of it. With a dst
// of enough capacity on the caller's stack, nothing allocates.
func PercentDecode(dst, src []byte) (out []byte, ok bool) {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '%' {
			if i+2 >= len(src) {
				return dst, false
			}
			hi, lo := unhex(src[i+1]), unhex(src[i+2])
			if hi < 0 || lo < 0 {
				return dst, false
			}
			c = byte(hi<<4 | lo)
			i += 2
		}
		dst = append(dst, c)
	}
	return dst, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
