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
type Filter struct{ edits filter.ResponseEdits }

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	return &Filter{edits: filter.CompileResponseEdits(s.Set, s.Add, s.Remove)}, nil
}

// Request does nothing: the work is on the response. Any loop.
func (f *Filter) Request(*filter.Exchange) filter.Verdict { return filter.Continue }

// ResponseHead removes, then sets, then adds. Any loop; no allocation.
func (f *Filter) ResponseHead(_ *filter.Exchange, r *filter.Response) filter.Verdict {
	f.edits.Apply(r)
	return filter.Continue
}
