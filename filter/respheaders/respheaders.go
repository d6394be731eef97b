// Package respheaders is the `type: response_headers` middleware: it sets,
// adds and removes response headers, on upstream responses and on the
// gateway's own answers alike (errors, other filters' replies).
//
//	middleware:
//	  secure: {type: response_headers, set: {X-Frame-Options: DENY}, remove: [Server]}
//
// It works in the response phase (filter.ResponseHeadFilter), which runs
// in reverse route order: listed first in a route, it has the last word.
// Everything is compiled at Build, so a request costs no allocation.
package respheaders

import (
	"fmt"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
)

func init() {
	filter.Register(filter.Type{Name: "response_headers", Decode: decode, Build: build})
}

// Filter is a built response_headers instance. It is immutable, so every
// loop may use it at once.
type Filter struct {
	remove   []string
	set, add []header // sorted by name, so the output order is stable
}

type header struct {
	name  string
	value []byte
}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	f := &Filter{remove: s.Remove}
	for _, name := range sortedKeys(s.Set) {
		f.set = append(f.set, header{name, []byte(s.Set[name])})
	}
	for _, name := range sortedKeys(s.Add) {
		f.add = append(f.add, header{name, []byte(s.Add[name])})
	}
	return f, nil
}

// Request does nothing: the work is on the response. Any loop.
func (f *Filter) Request(*filter.Exchange) filter.Verdict { return filter.Continue }

// ResponseHead removes, then sets, then adds. Any loop; no allocation.
func (f *Filter) ResponseHead(_ *filter.Exchange, r *filter.Response) filter.Verdict {
	for _, name := range f.remove {
		r.Remove(name)
	}
	for i := range f.set {
		r.Set(f.set[i].name, f.set[i].value)
	}
	for i := range f.add {
		r.Add(f.add[i].name, f.add[i].value)
	}
	return filter.Continue
}
