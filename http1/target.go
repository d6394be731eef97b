package http1

// slash is Path for an absolute-form target with an empty path.
var slash = []byte("/")

// parseTarget classifies the request-target (RFC 9112 §3.2) and fills
// Target, Path, Query and, for absolute-form, Host. Only visible ASCII
// without '#' is allowed: a fragment is never sent, and spaces, controls or
// raw non-ASCII bytes in a target are read differently by different
// servers.
func (r *Request) parseTarget(t []byte) error {
	if len(t) == 0 {
		return ErrBadTarget
	}
	q := -1
	for i, c := range t {
		if class[c]&cTarget == 0 {
			return ErrBadTarget
		}
		if c == '?' && q < 0 {
			q = i
		}
	}
	r.Target = t
	connect := string(r.Method) == "CONNECT"
	switch {
	case t[0] == '/':
		if connect {
			return ErrBadTarget
		}
		r.setPathQuery(t, q)
	case len(t) == 1 && t[0] == '*':
		// asterisk-form exists only for server-wide OPTIONS.
		if string(r.Method) != "OPTIONS" {
			return ErrBadTarget
		}
		r.Path = t
	case connect:
		// authority-form: host ":" port, port required (RFC 9112 §3.2.3).
		if q >= 0 || t[0] == ':' || !validHost(t, true) {
			return ErrBadTarget
		}
	default:
		return r.parseAbsolute(t)
	}
	return nil
}

func (r *Request) setPathQuery(t []byte, q int) {
	if q < 0 {
		r.Path = t
		return
	}
	r.Path, r.Query = t[:q], t[q+1:]
}

// parseAbsolute handles absolute-form, the form proxies receive: only http
// and https, no userinfo (RFC 9110 §4.2.4), non-empty host.
func (r *Request) parseAbsolute(t []byte) error {
	var rest []byte
	switch {
	case len(t) > 7 && EqualFold(t[:7], "http://"):
		rest = t[7:]
	case len(t) > 8 && EqualFold(t[:8], "https://"):
		rest = t[8:]
	default:
		return ErrBadTarget
	}
	a := 0
	for a < len(rest) && rest[a] != '/' && rest[a] != '?' {
		a++
	}
	auth := rest[:a]
	if len(auth) == 0 || auth[0] == ':' || !validHost(auth, false) {
		return ErrBadTarget
	}
	r.Host = auth
	rest = rest[a:]
	q := -1
	for i, c := range rest {
		if c == '?' {
			q = i
			break
		}
	}
	switch {
	case q < 0:
		r.Path = rest
	default:
		r.Path, r.Query = rest[:q], rest[q+1:]
	}
	if len(r.Path) == 0 {
		r.Path = slash
	}
	return nil
}

// validHost reports whether b is uri-host [":" port] (RFC 3986 §3.2.2):
// an IP-literal in brackets or a reg-name (which covers IPv4), then an
// optional port of at most 5 digits. An empty b is valid (RFC 9112 §3.2
// allows an empty Host); callers that need a host check that. needPort
// requires a non-empty port.
func validHost(b []byte, needPort bool) bool {
	i := 0
	if len(b) > 0 && b[0] == '[' {
		i = 1
		for i < len(b) && b[i] != ']' {
			if class[b[i]]&cHost == 0 && b[i] != ':' {
				return false
			}
			i++
		}
		if i == len(b) || i == 1 {
			return false
		}
		i++
	} else {
		for i < len(b) {
			c := b[i]
			if c == '%' {
				// pct-encoded: exactly two hex digits.
				if i+2 >= len(b) || hexVal[b[i+1]] == 0xff || hexVal[b[i+2]] == 0xff {
					return false
				}
				i += 3
				continue
			}
			if class[c]&cHost == 0 {
				break
			}
			i++
		}
	}
	if i == len(b) {
		return !needPort
	}
	if b[i] != ':' {
		return false
	}
	port := b[i+1:]
	if len(port) > 5 || needPort && len(port) == 0 {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
