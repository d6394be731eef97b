package router

// Normalize writes the normalised form of the origin-form path into dst[:0]
// and returns it. It appends, so it allocates only when cap(dst) is too small;
// dst may also be path[:0] to normalise in place, because the output is never
// longer than the input and every byte is read before it can be overwritten.
//
// The gateway both routes on and forwards the result, so a path that looks
// different to the router and to the upstream cannot exist. The steps are:
//
//   - percent-encodings of unreserved characters (ALPHA DIGIT - . _ ~, RFC 3986
//     §2.3) are decoded; every other percent-encoding is kept, with its hex
//     upper-cased ("%2f" -> "%2F"). An encoded '/' therefore stays encoded and
//     is never a segment separator;
//   - empty segments are dropped ("//" -> "/");
//   - "." and ".." segments are resolved (RFC 3986 §5.2.4), including those
//     that were percent-encoded ("%2e%2E"); a ".." above the root returns
//     ErrPathEscapes rather than being clamped, because a client that sends
//     one is probing for traversal;
//   - a trailing slash is kept, and a path ending in "." or ".." ends in '/'.
//
// Malformed percent-encoding ("%zz", a trailing "%") and a path that does not
// start with '/' return ErrBadPath. The query string must already be cut off.
// Normalize is a pure function (any goroutine).
func Normalize(dst, path []byte) ([]byte, error) {
	out := dst[:0]
	if len(path) == 0 || path[0] != '/' {
		return out, ErrBadPath
	}
	out = append(out, '/')
	// Invariant at the top of each iteration: out ends with '/' and i is the
	// index just past a '/' in path.
	for i := 1; i <= len(path); {
		start := len(out)
		j := i
		for j < len(path) && path[j] != '/' {
			c := path[j]
			if c != '%' {
				out = append(out, c)
				j++
				continue
			}
			if j+2 >= len(path) {
				return out[:0], ErrBadPath
			}
			h, l := unhex(path[j+1]), unhex(path[j+2])
			if h < 0 || l < 0 {
				return out[:0], ErrBadPath
			}
			if v := byte(h<<4 | l); unreserved(v) {
				out = append(out, v)
			} else {
				out = append(out, '%', upperHex[h], upperHex[l])
			}
			j += 3
		}
		seg := out[start:]
		switch {
		case len(seg) == 0:
			// "//" or the trailing slash: out already ends with '/'.
		case len(seg) == 1 && seg[0] == '.':
			out = out[:start]
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if start == 1 {
				return out[:0], ErrPathEscapes
			}
			// Drop the previous segment: cut back to just past the '/'
			// that precedes it.
			k := start - 2
			for out[k] != '/' {
				k--
			}
			out = out[:k+1]
		default:
			if j < len(path) {
				out = append(out, '/')
			}
		}
		i = j + 1
	}
	return out, nil
}

const upperHex = "0123456789ABCDEF"

// unhex returns the value of one hex digit, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// unreserved reports whether c is in RFC 3986 §2.3's unreserved set: the only
// characters whose encoded and plain forms are equivalent, hence the only
// ones safe to decode without changing what the upstream sees.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
