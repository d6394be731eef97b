package cors

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// origins is the compiled allow_origins list. An Origin header is matched
// byte for byte: browsers serialise origins in lower case, without a path
// and without the scheme's default port (the Fetch standard's "ASCII
// serialization of an origin"), and the config check holds the listed
// origins to that form, so no folding is needed on the request path.
type origins struct {
	any      bool           // "*": every origin
	exact    map[string]int // origin -> index in values
	values   [][]byte       // the exact origins, echoed as they are
	patterns []pattern
}

// pattern is "scheme://*.suffix": an origin of that scheme whose host is
// one DNS label followed by suffix (port included, if written).
type pattern struct {
	scheme string // "https://"
	suffix string // ".example.com" or ".example.com:8443"
}

// noMatch is what match returns for an origin that is not allowed.
const noMatch = -2

// echo is what match returns for an origin allowed by a pattern (or by
// "*"): the response names it by echoing the request's bytes.
const echo = -1

// match reports whether origin is allowed: the index of the exact origin
// it equals, echo when a pattern or "*" allows it, noMatch otherwise.
// Any loop; no allocation (the map lookup converts without copying).
func (o *origins) match(origin []byte) int {
	if i, ok := o.exact[string(origin)]; ok {
		return i
	}
	for _, p := range o.patterns {
		if p.match(origin) {
			return echo
		}
	}
	if o.any && len(origin) > 0 {
		return echo
	}
	return noMatch
}

// match: origin is scheme, one label, suffix. A single label, as in a TLS
// wildcard certificate (RFC 6125 §6.4.3): *.example.com covers
// a.example.com, not a.b.example.com, so a pattern never reaches into a
// sub-zone someone else may run.
func (p pattern) match(origin []byte) bool {
	n := len(origin) - len(p.scheme) - len(p.suffix)
	if n <= 0 || string(origin[:len(p.scheme)]) != p.scheme || string(origin[len(origin)-len(p.suffix):]) != p.suffix {
		return false
	}
	return isLabel(origin[len(p.scheme) : len(p.scheme)+n])
}

// isLabel: a DNS label as browsers serialise it (letters, digits and
// hyphens, lower case, IDNs in punycode), neither starting nor ending with a
// hyphen, at most 63 bytes.
func isLabel(b []byte) bool {
	if len(b) == 0 || len(b) > 63 || b[0] == '-' || b[len(b)-1] == '-' {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// compileOrigins checks allow_origins and compiles them; every problem is
// returned, each naming the entry.
func compileOrigins(list []string) (*origins, []error) {
	o := &origins{exact: map[string]int{}}
	var errs []error
	for _, s := range list {
		switch {
		case s == "*":
			o.any = true
		case strings.Contains(s, "*"):
			p, err := parsePattern(s)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			o.patterns = append(o.patterns, p)
		default:
			if err := checkOrigin(s); err != nil {
				errs = append(errs, err)
				continue
			}
			if _, dup := o.exact[s]; !dup {
				o.exact[s] = len(o.values)
				o.values = append(o.values, []byte(s))
			}
		}
	}
	if o.any && len(list) > 1 {
		errs = append(errs, errors.New(`"*" allows every origin: list it alone`))
	}
	return o, errs
}

// checkOrigin holds an exact origin to the form browsers send, so that a
// listed origin can match at all: scheme://host[:port], lower case, no
// path, no default port.
func checkOrigin(s string) error {
	if s == "null" {
		return errors.New(`"null": the origin of sandboxed frames, file: pages and redirects, which any site can produce; list real origins`)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return originErr(s, "not an origin (write scheme://host[:port], e.g. https://app.example.com)")
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return originErr(s, "an origin has no user, path, query or fragment (browsers send scheme://host[:port] only)")
	}
	if s != strings.ToLower(s) {
		return originErr(s, "write it in lower case: browsers send origins lower-cased")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return originErr(s, "bad port")
		}
		if (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
			return originErr(s, "drop the default port: browsers never send it")
		}
	}
	return nil
}

// parsePattern reads "scheme://*.domain[:port]".
func parsePattern(s string) (pattern, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || !strings.HasPrefix(rest, "*.") || strings.Count(s, "*") != 1 {
		return pattern{}, originErr(s, `bad origin pattern: write scheme://*.domain, one "*" standing for the left-most label (e.g. https://*.example.com)`)
	}
	suffix := rest[1:] // ".example.com[:port]"
	if checkOrigin(scheme+"://x"+suffix) != nil {
		return pattern{}, originErr(s, "bad origin pattern: after the *. write a lower-case domain and an optional port, nothing else")
	}
	host := suffix[1:]
	if h, _, hasPort := strings.Cut(host, ":"); hasPort {
		host = h
	}
	if !strings.Contains(host, ".") {
		return pattern{}, originErr(s, "bad origin pattern: the domain after *. needs at least two labels (*.com would allow every .com site)")
	}
	for label := range strings.SplitSeq(host, ".") {
		if !isLabel([]byte(label)) {
			return pattern{}, originErr(s, "bad origin pattern: "+strconv.Quote(label)+" is not a DNS label")
		}
	}
	return pattern{scheme: scheme + "://", suffix: suffix}, nil
}

func originErr(s, msg string) error { return errors.New(strconv.Quote(s) + ": " + msg) }
