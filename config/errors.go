package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// ErrInvalid is wrapped by every *Error, so callers can tell a config the
// operator must fix (errors.Is(err, ErrInvalid)) from an I/O failure.
var ErrInvalid = errors.New("invalid config")

// Pos is a place in a config file. Line and Col are 1-based; the zero value
// means "unknown" (a Config built in Go rather than parsed from YAML).
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", leaving out the parts that are unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
	return s
}

// IsZero reports whether p carries no line (nothing to point at).
func (p Pos) IsZero() bool { return p.Line == 0 }

func comparePos(a, b Pos) int {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

// Error is one problem in a config file. Path is the YAML path of the
// offending value ("routes[1].cluster"); Pos is where it is written, or the
// nearest enclosing node when the value is missing.
type Error struct {
	Pos  Pos
	Path string
	Msg  string
}

// Error formats e as "file:line:col: path: msg", the form editors and
// terminals turn into a jump-to-source link.
func (e *Error) Error() string {
	s := e.Pos.String()
	if e.Path != "" {
		if s != "" {
			s += ": "
		}
		s += e.Path
	}
	if s != "" {
		s += ": "
	}
	return s + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors returns every *Error inside err (as returned by Parse, Load or
// Validate), in report order; nil if there are none.
func Errors(err error) []*Error {
	var out []*Error
	for _, e := range leaves(err) {
		if ce, ok := e.(*Error); ok {
			out = append(out, ce)
		}
	}
	return out
}

// leaves flattens errors.Join trees (and %w chains around them) into their
// leaf errors, stopping at each *Error.
func leaves(err error) []error {
	switch e := err.(type) {
	case nil:
		return nil
	case *Error:
		return []error{e}
	case interface{ Unwrap() []error }:
		var out []error
		for _, x := range e.Unwrap() {
			out = append(out, leaves(x)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		if l := leaves(inner); len(l) > 1 || (len(l) == 1 && isConfigError(l[0])) {
			return l
		}
	}
	return []error{err}
}

func isConfigError(err error) bool {
	_, ok := err.(*Error)
	return ok
}

// errList collects errors while a config is checked, so one run reports
// every problem instead of making the operator fix them one at a time.
type errList struct {
	errs []*Error
	// bad holds paths that already failed to decode, so validation does not
	// pile a second, derived complaint ("required") on the same value.
	bad map[string]bool
}

func (l *errList) add(e *Error) { l.errs = append(l.errs, e) }

// markBad records that path failed to decode.
func (l *errList) markBad(path string) {
	if l.bad == nil {
		l.bad = map[string]bool{}
	}
	l.bad[path] = true
}

// isBad reports whether path or one of its ancestors failed to decode.
func (l *errList) isBad(path string) bool {
	for path != "" {
		if l.bad[path] {
			return true
		}
		path = parentPath(path)
	}
	return false
}

// join sorts the errors by position and joins them; nil when empty.
func (l *errList) join() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(comparePos(a.Pos, b.Pos), cmp.Compare(a.Path, b.Path))
	})
	l.errs = slices.CompactFunc(l.errs, func(a, b *Error) bool { return *a == *b })
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// parentPath strips the last component of a YAML path:
// "routes[1].match.path" -> "routes[1].match" -> "routes[1]" -> "routes" -> "".
func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return ""
}

func errorf(pos Pos, path, format string, args ...any) *Error {
	return &Error{Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// suggest returns ` (did you mean "x"?)` when a known name is within two
// edits of got, the usual size of a typo.
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dist := EditDistance(got, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// EditDistance is the Levenshtein distance between a and b; middleware
// decoders use it for their own "did you mean" hints.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
