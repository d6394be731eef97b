package router

import "unicode/utf8"

// Normalize is Policy{}.Normalize: the safe defaults (an encoded '/' or '\',
// a raw '\' and a ';' path parameter are all rejected). Any goroutine.
func Normalize(dst, path []byte) ([]byte, error) { return Policy{}.Normalize(dst, path) }

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
//     upper-cased ("%3f" -> "%3F");
//   - an encoded '/' or '\' ("%2F", "%5C", any case) and a raw '\' are
//     rejected (ErrEscapedSlash), or, by p.EscapedSlashes, decoded to the
//     separator '/' or kept opaque (a raw '\' then stays as it is);
//   - a ';' (a path parameter, which Tomcat, Jetty and Spring cut off before
//     routing while nginx and Envoy keep it) is rejected (ErrPathParam), or,
//     by p.PathParams, cut off with the rest of its segment, or kept; a kept
//     one may not follow "." or ".." ("/..;/x" is ".." to a servlet
//     container);
//   - a percent-encoded control character (%00-%1F, %7F) is rejected
//     (ErrControl): NUL truncates paths in C upstreams and CR LF splits logs;
//   - percent-encoded bytes above 0x7F must form well-formed UTF-8 (no
//     overlong forms such as "%C0%AE", no surrogates): ErrBadUTF8; they stay
//     encoded;
//   - empty segments are dropped ("//" -> "/");
//   - "." and ".." segments are resolved (RFC 3986 §5.2.4), including those
//     that were percent-encoded ("%2e%2E") and, when decoded, those that an
//     encoded slash delimits; a ".." above the root returns ErrPathEscapes
//     rather than being clamped, because a client that sends one is probing
//     for traversal;
//   - a trailing slash is kept, and a path ending in "." or ".." ends in '/'.
//
// Malformed percent-encoding ("%zz", a trailing "%" or "%4") is
// ErrBadEncoding; a path that does not start with '/', or holds a raw byte
// that is not visible ASCII, is ErrBadPath. Every error is one of the
// package's path sentinels, and all of them but ErrPathEscapes match
// errors.Is(err, ErrBadPath). The query string must already be cut off.
// Normalize is a pure function (any goroutine).
func (p Policy) Normalize(dst, path []byte) ([]byte, error) {
	out := dst[:0]
	if len(path) == 0 || path[0] != '/' {
		return out, ErrBadPath
	}
	out = append(out, '/')
	// Invariant at the top of each iteration: out ends with '/' and i is the
	// index just past a separator in path.
	for i := 1; ; {
		start := len(out)
		nameEnd := -1 // len(out) at a kept ';', which ends the segment's name
		sep := false  // the segment ended at a separator, not at the end
	segment:
		for i < len(path) {
			c := path[i]
			if plainPath[c] {
				out = append(out, c)
				i++
				continue
			}
			switch {
			case c == '/':
				i++
				sep = true
				break segment
			case c == '\\':
				switch p.EscapedSlashes {
				case EscapedSlashesReject:
					return out[:0], ErrEscapedSlash
				case EscapedSlashesDecode:
					i++
					sep = true
					break segment
				}
				out = append(out, c)
				i++
			case c == ';':
				switch p.PathParams {
				case PathParamsReject:
					return out[:0], ErrPathParam
				case PathParamsStrip:
					// The parameter runs to the next raw '/', as the
					// Servlet specification reads it; none of it is
					// forwarded, so what it holds cannot matter.
					for i < len(path) && path[i] != '/' {
						i++
					}
					continue
				}
				if nameEnd < 0 {
					nameEnd = len(out)
				}
				out = append(out, c)
				i++
			case c == '%':
				if i+2 >= len(path) {
					return out[:0], ErrBadEncoding
				}
				h, l := unhex(path[i+1]), unhex(path[i+2])
				if h < 0 || l < 0 {
					return out[:0], ErrBadEncoding
				}
				v := byte(h<<4 | l)
				switch {
				case unreserved(v):
					out = append(out, v)
					i += 3
				case v == '/' || v == '\\':
					switch p.EscapedSlashes {
					case EscapedSlashesReject:
						return out[:0], ErrEscapedSlash
					case EscapedSlashesDecode:
						i += 3
						sep = true
						break segment
					}
					out = append(out, '%', upperHex[h], upperHex[l])
					i += 3
				case v < 0x20 || v == 0x7f:
					return out[:0], ErrControl
				case v >= 0x80:
					n, err := utf8Encoded(path[i:])
					if err != nil {
						return out[:0], err
					}
					for k := i; k < i+n; k += 3 {
						out = append(out, '%', upperHex[unhex(path[k+1])], upperHex[unhex(path[k+2])])
					}
					i += n
				default:
					out = append(out, '%', upperHex[h], upperHex[l])
					i += 3
				}
			case c <= ' ' || c >= 0x7f:
				return out[:0], ErrBadPath
			default:
				out = append(out, c)
				i++
			}
		}
		if len(out)-start > 2 && nameEnd < 0 {
			// The common case, a name that cannot be a dot segment.
			if !sep {
				return out, nil
			}
			out = append(out, '/')
			continue
		}
		seg, name := out[start:], out[start:]
		if nameEnd >= 0 {
			name = out[start:nameEnd]
		}
		dots := len(name) == 1 && name[0] == '.' || len(name) == 2 && name[0] == '.' && name[1] == '.'
		switch {
		case len(seg) == 0:
			// "//" or the trailing slash: out already ends with '/'.
		case dots && nameEnd >= 0:
			// "..;x": a servlet container strips the parameter and
			// climbs; a router that kept it would not.
			return out[:0], ErrPathParam
		case dots && len(seg) == 1:
			out = out[:start] // "."
		case dots:
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
			if sep {
				out = append(out, '/')
			}
		}
		if !sep {
			return out, nil
		}
	}
}

// utf8Encoded checks the percent-encoded UTF-8 sequence at the start of b
// (b[0] is '%' and its hex is a byte above 0x7F) and returns how many bytes
// of b it spans. Every byte of the sequence must be percent-encoded: the
// request parser lets no raw byte above 0x7E through.
func utf8Encoded(b []byte) (int, error) {
	var seq [utf8.UTFMax]byte
	lead := byte(unhex(b[1])<<4 | unhex(b[2]))
	var n int
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		n = 2
	case lead >= 0xE0 && lead <= 0xEF:
		n = 3
	case lead >= 0xF0 && lead <= 0xF4:
		n = 4
	default: // a continuation byte, an overlong lead (C0, C1) or past U+10FFFF
		return 0, ErrBadUTF8
	}
	seq[0] = lead
	for k := 1; k < n; k++ {
		at := 3 * k
		if at+2 >= len(b) || b[at] != '%' {
			return 0, ErrBadUTF8
		}
		h, l := unhex(b[at+1]), unhex(b[at+2])
		if h < 0 || l < 0 {
			return 0, ErrBadEncoding
		}
		seq[k] = byte(h<<4 | l)
	}
	// DecodeRune refuses overlong forms and surrogates with size 1; a
	// genuine U+FFFD decodes with size 3.
	if _, size := utf8.DecodeRune(seq[:n]); size != n {
		return 0, ErrBadUTF8
	}
	return 3 * n, nil
}

// plainPath marks the bytes Normalize copies as they are: visible ASCII
// except the separators and escapes it interprets ('/', '\\', ';', '%').
var plainPath = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = c != '/' && c != '\\' && c != ';' && c != '%'
	}
	return t
}()

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
