package filter

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// ResponseEdits is a compiled list of response header edits for a
// ResponseHead phase: remove, then set, then add. The response_headers
// type is one; transform's response part is another; both check and
// compile theirs here, so the rules about what may be named are written
// once. Immutable after CompileResponseEdits, so every loop may Apply it
// at once.
type ResponseEdits struct {
	remove   []string
	set, add []namedValue // sorted by name, so the output order is stable
}

type namedValue struct {
	name  string
	value []byte
}

// ResponseEditKeys are where an instance writes its edit lists (dotted
// paths for config.Middleware.Errorf): {"set", "add", "remove"} for
// response_headers.
type ResponseEditKeys struct{ Set, Add, Remove string }

// CheckResponseEdits returns every problem of the edit lists set, add and
// remove, each placed at its key: names that are not field names or that
// the gateway writes itself, values with control characters, a name both
// removed and set. No I/O; for a MiddlewareDecoder.
func CheckResponseEdits(m *config.Middleware, k ResponseEditKeys, set, add map[string]string, remove []string) []error {
	var errs []error
	for _, l := range []struct {
		key string
		hs  map[string]string
	}{{k.Set, set}, {k.Add, add}} {
		for _, name := range slices.Sorted(maps.Keys(l.hs)) {
			if err := checkResponseName(name); err != nil {
				errs = append(errs, m.Errorf(l.key, "%q: %v", name, err))
			}
			if i := strings.IndexFunc(l.hs[name], invalidResponseRune); i >= 0 {
				errs = append(errs, m.Errorf(l.key, "%q: value has a control character at byte %d", name, i))
			}
		}
	}
	for _, name := range remove {
		if err := checkResponseName(name); err != nil {
			errs = append(errs, m.Errorf(k.Remove, "%q: %v", name, err))
		}
		for s := range set {
			if strings.EqualFold(s, name) {
				errs = append(errs, m.Errorf(k.Remove, "%q is also in %s (which already replaces it)", name, k.Set))
			}
		}
	}
	return errs
}

// CompileResponseEdits turns checked edit lists into ResponseEdits. Off
// the loops (Build).
func CompileResponseEdits(set, add map[string]string, remove []string) ResponseEdits {
	e := ResponseEdits{remove: slices.Clone(remove)}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		e.set = append(e.set, namedValue{name, []byte(set[name])})
	}
	for _, name := range slices.Sorted(maps.Keys(add)) {
		e.add = append(e.add, namedValue{name, []byte(add[name])})
	}
	return e
}

// Empty reports whether the edits do nothing.
func (e *ResponseEdits) Empty() bool { return len(e.remove)+len(e.set)+len(e.add) == 0 }

// Apply removes, then sets, then adds. Any loop, in ResponseHead; no
// allocation.
func (e *ResponseEdits) Apply(r *Response) {
	for _, name := range e.remove {
		r.Remove(name)
	}
	for i := range e.set {
		r.Set(e.set[i].name, e.set[i].value)
	}
	for i := range e.add {
		r.Add(e.add[i].name, e.add[i].value)
	}
}

// ownResponseHeaders are written by the gateway itself (framing, connection
// management, tracing, the date of its own answers): a config may not set
// or remove them, since the result would be a broken or untraceable
// response.
var ownResponseHeaders = []string{"Content-Length", "Date", "Via", "X-Request-ID"}

// checkResponseName refuses what is not a field name (RFC 9110 §5.1) and the
// headers the gateway owns.
func checkResponseName(name string) error {
	if !http1.IsFieldName(name) {
		return errors.New("not a header name")
	}
	if http1.IsHopByHop([]byte(name)) {
		return errors.New("a hop-by-hop header, the gateway's to write")
	}
	for _, own := range ownResponseHeaders {
		if strings.EqualFold(name, own) {
			return errors.New("written by the gateway itself")
		}
	}
	return nil
}

// invalidResponseRune: a field value is visible characters, spaces and tabs
// (RFC 9110 §5.5); CR and LF would split the head.
func invalidResponseRune(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}
