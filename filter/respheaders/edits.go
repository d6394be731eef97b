package respheaders

import (
	"errors"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// Edits is a compiled list of response header edits: remove, then set,
// then add. The response_headers type is one Edits; other types that edit
// response headers (transform's response part) compile theirs here too,
// so the rules about what may be named are written once. Immutable after
// Compile, so every loop may Apply it at once.
type Edits struct {
	remove   []string
	set, add []header // sorted by name, so the output order is stable
}

type header struct {
	name  string
	value []byte
}

// Keys are where an instance writes its edit lists (dotted paths for
// config.Middleware.Errorf): {"set", "add", "remove"} for
// response_headers.
type Keys struct{ Set, Add, Remove string }

// Check returns every problem of the edit lists set, add and remove, each
// placed at its key: names that are not field names or that the gateway
// writes itself, values with control characters, a name both removed and
// set. No I/O; for a MiddlewareDecoder.
func Check(m *config.Middleware, k Keys, set, add map[string]string, remove []string) []error {
	var errs []error
	for _, l := range []struct {
		key string
		hs  map[string]string
	}{{k.Set, set}, {k.Add, add}} {
		for _, name := range sortedKeys(l.hs) {
			if err := checkName(name); err != nil {
				errs = append(errs, m.Errorf(l.key, "%q: %v", name, err))
			}
			if i := strings.IndexFunc(l.hs[name], invalidValueRune); i >= 0 {
				errs = append(errs, m.Errorf(l.key, "%q: value has a control character at byte %d", name, i))
			}
		}
	}
	for _, name := range remove {
		if err := checkName(name); err != nil {
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

// Compile turns checked edit lists into Edits. Off the loops (Build).
func Compile(set, add map[string]string, remove []string) Edits {
	e := Edits{remove: slices.Clone(remove)}
	for _, name := range sortedKeys(set) {
		e.set = append(e.set, header{name, []byte(set[name])})
	}
	for _, name := range sortedKeys(add) {
		e.add = append(e.add, header{name, []byte(add[name])})
	}
	return e
}

// Empty reports whether the edits do nothing.
func (e *Edits) Empty() bool { return len(e.remove)+len(e.set)+len(e.add) == 0 }

// Apply removes, then sets, then adds. Any loop, in ResponseHead; no
// allocation.
func (e *Edits) Apply(r *filter.Response) {
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

// ownHeaders are written by the gateway itself (framing, connection
// management, tracing, the date of its own answers): a config may not set
// or remove them, since the result would be a broken or untraceable
// response.
var ownHeaders = []string{"Content-Length", "Date", "Via", "X-Request-ID"}

// checkName refuses what is not a field name (RFC 9110 §5.1) and the
// headers the gateway owns.
func checkName(name string) error {
	if !http1.IsFieldName(name) {
		return errors.New("not a header name")
	}
	if http1.IsHopByHop([]byte(name)) {
		return errors.New("a hop-by-hop header, the gateway's to write")
	}
	for _, own := range ownHeaders {
		if strings.EqualFold(name, own) {
			return errors.New("written by the gateway itself")
		}
	}
	return nil
}

// invalidValueRune: a field value is visible characters, spaces and tabs
// (RFC 9110 §5.5); CR and LF would split the head.
func invalidValueRune(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
