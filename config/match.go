package config

import (
	"fmt"
	"net"
	"strings"
)

// checkPath checks route path syntax: it starts with '/', and each segment
// is static text, ":name" (one segment) or, in last place only, "*" or
// "*name" (the rest of the path). A trailing '/' is a static match.
func checkPath(path string) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("path %q must start with '/'", path)
	}
	segs := strings.Split(path[1:], "/")
	params := map[string]bool{}
	for i, s := range segs {
		last := i == len(segs)-1
		switch {
		case s == "":
			if !last {
				return fmt.Errorf("path %q has an empty segment (\"//\")", path)
			}
		case s == "." || s == "..":
			return fmt.Errorf("path %q has a %q segment, which never matches a normalized path", path, s)
		case s[0] == ':' || s[0] == '*':
			name := s[1:]
			if s[0] == ':' && name == "" {
				return fmt.Errorf("path %q: parameter %q needs a name, as in \":id\"", path, s)
			}
			if name != "" && !validParamName(name) {
				return fmt.Errorf("path %q: invalid name %q in %q (use letters, digits and '_', not starting with a digit)", path, name, s)
			}
			if s[0] == '*' && !last {
				return fmt.Errorf("path %q: wildcard %q must be the last segment", path, s)
			}
			if name != "" && params[name] {
				return fmt.Errorf("path %q names %q twice", path, name)
			}
			params[name] = true
		default:
			for j := 0; j < len(s); j++ {
				c := s[j]
				switch {
				case c == '*':
					return fmt.Errorf("path %q: '*' may only start the last segment", path)
				case c <= ' ' || c == 0x7f || c == '?' || c == '#':
					return fmt.Errorf("path %q: invalid character %q in segment %q", path, c, s)
				}
			}
		}
	}
	return nil
}

// staticPrefix is the part of a valid path before its first parameter or
// wildcard segment: every request the route matches starts with it.
func staticPrefix(path string) string {
	for i := 1; i < len(path); i++ {
		if path[i-1] == '/' && (path[i] == ':' || path[i] == '*') {
			return path[:i]
		}
	}
	return path
}

// checkStripPrefix checks that strip_prefix is a whole-segment prefix of
// every path the route can match; otherwise some requests would be
// forwarded unchanged or with a half-cut segment.
func checkStripPrefix(sp, path string) error {
	if !strings.HasPrefix(sp, "/") {
		return fmt.Errorf("%q must start with '/'", sp)
	}
	if strings.HasSuffix(sp, "/") {
		return fmt.Errorf("%q must not end with '/' (the rewritten path keeps its leading '/')", sp)
	}
	static := staticPrefix(path)
	if !strings.HasPrefix(static, sp) || (len(static) > len(sp) && static[len(sp)] != '/') {
		return fmt.Errorf("%q is not a whole-segment prefix of %q, the static part of match.path %q", sp, static, path)
	}
	return nil
}

// checkHostPattern checks a match host: an exact host or "*.suffix", no port.
func checkHostPattern(h string) error {
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return fmt.Errorf("host %q: a wildcard is only allowed as a leading \"*.\"", h)
	}
	if _, _, err := net.SplitHostPort(name); err == nil {
		return fmt.Errorf("host %q must not include a port", h)
	}
	if !validHost(name) {
		return fmt.Errorf("invalid host %q", h)
	}
	return nil
}

// validHost accepts an IP address or a DNS name (labels of letters, digits,
// '-' and '_', at most 63 bytes each, 253 in all).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isAlnum(c) && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// validName checks cluster, route and middleware names, which end up in
// metric labels and log fields: a letter or digit, then letters, digits,
// '_', '-' or '.', at most 128 bytes.
func validName(s string) bool {
	if s == "" || len(s) > 128 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func validParamName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isToken reports whether s is an HTTP token (RFC 9110 tchar+), the syntax
// of methods and header names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
