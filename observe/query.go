package observe

// The access log writes the query string, which is where some clients put
// credentials (`?access_token=…`, `?api_key=…`, a jwt middleware with
// `token_from: query:NAME`). AppendLogQuery copies a query for the log with
// such values replaced, so a log line never carries a usable secret.
//
// A parameter's value is written as [redacted] when its name, ASCII
// case-insensitively, contains one of logSecretParts, or when the value
// looks like a JWT (starts with "eyJ" and has two dots). Parameter names,
// order and the other values are kept as sent.
var logSecretParts = [...]string{"token", "key", "secret", "pass", "sig", "auth", "session", "jwt", "credential", "code"}

const redactedValue = "[redacted]"

// AppendLogQuery appends q (without the '?') to dst with secret values
// redacted. Any goroutine; no allocation beyond dst's growth.
func AppendLogQuery(dst, q []byte) []byte {
	for len(q) > 0 {
		param := q
		for i, c := range q {
			if c == '&' || c == ';' {
				param = q[:i]
				break
			}
		}
		rest := q[len(param):]
		name, value, hasValue := param, []byte(nil), false
		for i, c := range param {
			if c == '=' {
				name, value, hasValue = param[:i], param[i+1:], true
				break
			}
		}
		dst = append(dst, name...)
		if hasValue {
			dst = append(dst, '=')
			if len(value) > 0 && (secretName(name) || looksLikeJWT(value)) {
				dst = append(dst, redactedValue...)
			} else {
				dst = append(dst, value...)
			}
		}
		if len(rest) > 0 {
			dst = append(dst, rest[0])
			rest = rest[1:]
		}
		q = rest
	}
	return dst
}

// secretName reports whether a parameter name contains a logSecretParts
// word, ignoring ASCII case.
func secretName(name []byte) bool {
	for _, part := range logSecretParts {
		if containsFold(name, part) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains lower (lower-case ASCII),
// ignoring the case of s.
func containsFold(s []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(s); i++ {
		j := 0
		for ; j < len(lower); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

// looksLikeJWT: a compact JWS whose header is base64url JSON ("eyJ" is
// `{"`), with its two dots.
func looksLikeJWT(v []byte) bool {
	if len(v) < 3 || string(v[:3]) != "eyJ" {
		return false
	}
	dots := 0
	for _, c := range v {
		if c == '.' {
			dots++
		}
	}
	return dots == 2
}
