package http1

// Cookie lookup for the gateway's own uses of a request cookie (a JWT taken
// from a cookie, a consistent-hash key). Views into the input, no
// allocation.

// Cookie returns the value of the first cookie called name in one Cookie
// field value, a cookie-string (RFC 6265 §4.2.1: "a=1; b=2"); ok is false
// when there is none. Names match exactly (cookie names are
// case-sensitive). Parsing is lenient the way servers must be with what
// clients send: pairs are split on ';', optional whitespace (SP, HTAB)
// around each pair is dropped, and a pair without '=' is skipped.
//
// A value wrapped in double quotes is returned without them. RFC 6265
// §4.1.1 allows cookie-value = *cookie-octet / ( DQUOTE *cookie-octet
// DQUOTE ), and a user agent sends the quotes back as part of the value
// (§5.2), but a cookie-octet can never be DQUOTE: the quotes are a
// spelling of the value, never data. Both callers want the data: a JWT's
// compact serialization has no quotes, and a hash key should not send
// sid="x" and sid=x to different targets. Go's net/http strips them too.
// A lone or unbalanced quote is left in place.
func Cookie(field []byte, name string) (val []byte, ok bool) {
	for len(field) > 0 {
		pair := field
		field = nil
		for i, c := range pair {
			if c == ';' {
				pair, field = pair[:i], pair[i+1:]
				break
			}
		}
		pair = trimOWS(pair)
		eq := 0
		for eq < len(pair) && pair[eq] != '=' {
			eq++
		}
		if eq == len(pair) || string(pair[:eq]) != name {
			continue
		}
		val = pair[eq+1:]
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		return val, true
	}
	return nil, false
}

// Cookie returns the value of the first cookie called name across the
// request's Cookie fields, in order (a client should send one, RFC 6265
// §5.4, but HTTP/2 splits them and some clients send several); see Cookie
// for the parsing and quotes.
func (r *Request) Cookie(name string) (val []byte, ok bool) {
	for i := range r.Headers {
		if h := &r.Headers[i]; EqualFold(h.Name, "Cookie") {
			if v, ok := Cookie(h.Value, name); ok {
				return v, true
			}
		}
	}
	return nil, false
}
