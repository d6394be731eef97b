package admin

import (
	"net/url"
	"strings"
)

// redacted replaces every value the admin API will not show.
const redacted = "[redacted]"

// Secrets are never written inline in a Sluice config (they come from
// secret_env/secret_file and similar), but a config view is exactly where
// a mistake would leak one, so redaction errs on the side of hiding:
//
//  1. By key: the value under any key whose name contains one of
//     sensitiveParts (case-insensitive, '-' read as '_'), or ends in "_key",
//     is replaced whole, subtrees included. Absent and empty values and
//     booleans are kept: they carry no secret and show what is (not) set.
//  2. Every value of a route's `match: {headers: …}`, whatever the header's
//     name: a route matching on a shared secret (`X-Origin-Verify: …`,
//     the CDN-to-origin pattern) names it as it likes, so key names
//     cannot tell. The header names stay, to show what a route requires.
//  3. By shape, whatever the key: strings that look like key material
//     (32+ hex digits such as a key_sha256 in a consumers list, a JWT,
//     a PEM block, a password hash) and the password and sensitive query
//     parameters of URLs (http://user:pw@host/?token=…).
//
// The rate limiter's `key: ip` is not a secret and is kept: its name is
// exactly "key", which no rule above matches.
var sensitiveParts = []string{
	"secret", "token", "passw", "passphrase", "credential", "private",
	"apikey", "api_key", "sha256", "sha512", "hmac", "salt", "signature",
	"authorization", "cookie", "session", "bearer",
}

// sensitiveKey reports whether a value under key must be hidden.
func sensitiveKey(key string) bool {
	k := strings.ReplaceAll(strings.ToLower(key), "-", "_")
	if strings.HasSuffix(k, "_key") {
		return true
	}
	for _, p := range sensitiveParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return false
}

// redact returns a copy of the tree v (object, []any, scalars) with the
// rules above applied. v is not modified.
func redact(v any) any { return redactIn(v, "") }

// redactIn is redact for a value found under the key parent ("" at the
// top and inside lists).
func redactIn(v any, parent string) any {
	switch x := v.(type) {
	case object:
		out := make(object, len(x))
		for i, m := range x {
			switch {
			case sensitiveKey(m.key) && !harmless(m.val):
				out[i] = member{m.key, redacted}
			case parent == "match" && m.key == "headers":
				out[i] = member{m.key, redactValues(m.val)}
			default:
				out[i] = member{m.key, redactIn(m.val, m.key)}
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactIn(e, "")
		}
		return out
	case string:
		return redactString(x)
	}
	return v
}

// redactValues hides every non-empty value of a header mapping, keeping
// the names (rule 2).
func redactValues(v any) any {
	o, ok := v.(object)
	if !ok {
		return redact(v)
	}
	out := make(object, len(o))
	for i, m := range o {
		if harmless(m.val) {
			out[i] = m
		} else {
			out[i] = member{m.key, redacted}
		}
	}
	return out
}

// harmless reports whether a value carries nothing worth hiding: absent,
// "", a boolean, or an empty list or mapping.
func harmless(v any) bool {
	switch x := v.(type) {
	case nil, bool:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case object:
		return len(x) == 0
	}
	return false
}

// redactString hides a string that looks like key material, and the
// secret parts of a URL.
func redactString(s string) string {
	switch {
	case looksLikeDigest(s),
		strings.Contains(s, "-----BEGIN"),
		strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2, // a JWT
		strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"),
		strings.HasPrefix(s, "$argon2"), strings.HasPrefix(s, "$scrypt$"):
		return redacted
	case strings.Contains(s, "://"):
		return redactURL(s)
	}
	return s
}

// looksLikeDigest: 32 or more hex digits and nothing else (a SHA-256 in
// hex is 64), which no routing or tuning value ever is.
func looksLikeDigest(s string) bool {
	if len(s) < 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// redactURL hides the userinfo password and the values of sensitive query
// parameters; a string that does not parse as a URL is hidden whole if it
// has userinfo-like text, else returned as is.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") {
			return redacted
		}
		return s
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			changed = true
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for name := range q {
			if sensitiveKey(name) || name == "key" || name == "sig" {
				q[name] = []string{"redacted"}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s
	}
	return u.String()
}
