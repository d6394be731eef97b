package transform

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// prefixRewrite is request.replace_prefix: a whole-segment prefix of the
// path is replaced, so /api/v1 rewrites /api/v1 and /api/v1/x but not
// /api/v10. from "/" matches every path (to is then prepended).
type prefixRewrite struct {
	from []byte // without a trailing '/' ("" for "/")
	to   []byte
}

func newPrefixRewrite(from, to string) prefixRewrite {
	return prefixRewrite{from: []byte(strings.TrimSuffix(from, "/")), to: []byte(to)}
}

// apply appends the rewritten path to dst; ok is false when path does not
// start with the prefix. No allocation.
func (p *prefixRewrite) apply(dst, path []byte) ([]byte, bool) {
	if !bytes.HasPrefix(path, p.from) || (len(path) > len(p.from) && path[len(p.from)] != '/') {
		return dst, false
	}
	rest := path[len(p.from):] // "" or "/..."
	if p.to[len(p.to)-1] == '/' && len(rest) > 0 {
		rest = rest[1:] // to "/": one slash, not two
	}
	return append(append(dst, p.to...), rest...), true
}

// regexRewrite is request.rewrite: the leftmost match of the regexp in
// the path is replaced by to, with $1, ${1}, ${name} the groups' text and
// $$ a dollar; the rest of the path stays. Anchor with ^ and $ to replace
// the whole path.
type regexRewrite struct {
	re *regexp.Regexp
	to []expandPart
}

// expandPart is a literal, or the text of group (lit nil).
type expandPart struct {
	lit   []byte
	group int
}

// compileRewrite compiles the regexp (RE2 syntax: matching is linear in
// the path's length) and parses to against its groups. key says which of
// regex and to an error is about.
func compileRewrite(expr, to string) (r regexRewrite, key string, err error) {
	if r, err = compileExpand(expr, to); err != nil {
		key = "to"
		if errors.Is(err, errRegex) {
			key = "regex"
		}
	}
	return r, key, err
}

var errRegex = errors.New("regex")

func compileExpand(expr, to string) (regexRewrite, error) {
	if expr == "" {
		return regexRewrite{}, fmt.Errorf("%w: required", errRegex)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return regexRewrite{}, fmt.Errorf("%w: %w", errRegex, err)
	}
	r := regexRewrite{re: re}
	var lit []byte
	for i := 0; i < len(to); i++ {
		if to[i] != '$' {
			lit = append(lit, to[i])
			continue
		}
		ref, n, err := parseRef(to[i+1:])
		if err != nil {
			return r, fmt.Errorf("at byte %d: %w", i, err)
		}
		i += n
		if ref == "$" {
			lit = append(lit, '$')
			continue
		}
		g, err := strconv.Atoi(ref)
		if err != nil {
			if g = re.SubexpIndex(ref); g < 0 {
				return r, fmt.Errorf("at byte %d: the regex has no group named %q", i-n, ref)
			}
		} else if g > re.NumSubexp() {
			return r, fmt.Errorf("at byte %d: $%d, but the regex has %d groups", i-n, g, re.NumSubexp())
		}
		if lit != nil {
			r.to = append(r.to, expandPart{lit: lit})
			lit = nil
		}
		r.to = append(r.to, expandPart{group: g})
	}
	if lit != nil {
		r.to = append(r.to, expandPart{lit: lit})
	}
	if i := bytes.IndexFunc(r.literal(), func(c rune) bool { return !isPathRune(c) }); i >= 0 {
		return r, fmt.Errorf("%q is not allowed in a path", r.literal()[i])
	}
	return r, nil
}

// literal is to without its group references, for checks.
func (r *regexRewrite) literal() []byte {
	var b []byte
	for _, p := range r.to {
		b = append(b, p.lit...)
	}
	return b
}

// parseRef reads a reference after '$': "$", digits, a name, or {...}.
// n is how many bytes it took.
func parseRef(s string) (ref string, n int, err error) {
	if strings.HasPrefix(s, "$") {
		return "$", 1, nil
	}
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 2 {
			return "", 0, fmt.Errorf("an empty or unclosed ${...}")
		}
		return s[1:end], end + 1, nil
	}
	for n < len(s) && (isUnreserved(s[n]) && s[n] != '-' && s[n] != '.' && s[n] != '~') {
		n++
	}
	if n == 0 {
		return "", 0, fmt.Errorf("'$' must be followed by a group ($1, ${1}, ${name}) or '$' ($$)")
	}
	return s[:n], n, nil
}

// apply appends the rewritten path to dst; ok is false when the regexp
// does not match. A match costs one allocation (Go's regexp returns the
// group positions in a new slice); no match costs none.
func (r *regexRewrite) apply(dst, path []byte) ([]byte, bool) {
	m := r.re.FindSubmatchIndex(path)
	if m == nil {
		return dst, false
	}
	dst = append(dst, path[:m[0]]...)
	for _, p := range r.to {
		if p.lit != nil {
			dst = append(dst, p.lit...)
		} else if a := m[2*p.group]; a >= 0 {
			dst = append(dst, path[a:m[2*p.group+1]]...)
		}
	}
	return append(dst, path[m[1]:]...), true
}

// validPath reports whether p can go upstream as an origin-form path
// (RFC 9112 §3.2.1): it starts with '/', holds only pchar and '/' with
// well-formed %XX escapes, and has no dot segment (the upstream would
// resolve "/a/../b" to a path the rewrite did not name).
func validPath(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return false
			}
			i += 2
		case c == '/':
			seg := p[i+1:]
			if j := bytes.IndexByte(seg, '/'); j >= 0 {
				seg = seg[:j]
			}
			if string(seg) == "." || string(seg) == ".." {
				return false
			}
		case !isPathRune(rune(c)):
			return false
		}
	}
	return true
}

// isPathRune: pchar (RFC 3986 §3.3: unreserved, sub-delims, ':', '@'),
// '/' and '%' (escapes are checked by validPath).
func isPathRune(c rune) bool { return c < 0x80 && pathChars[c] }

var pathChars = func() (t [0x80]bool) {
	for c := range t {
		t[c] = isUnreserved(byte(c)) || strings.ContainsRune("!$&'()*+,;=:@/%", rune(c))
	}
	return t
}()
