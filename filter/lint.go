package filter

// Gate is implemented by filters whose Request may refuse a request
// (authentication, rate limits, validation). Placement rules ask for it:
// a filter listed after a gate never sees what the gate refused, and its
// response headers are on those refusals only through ResponseHead.
type Gate interface {
	Gate()
}

// RouteLinter is implemented by filters with rules about where they sit on
// a route (CORS must see preflights before authentication refuses them).
// LintRoute returns one warning per broken rule; the pipeline prefixes
// each with the route's position and name. The config stays valid: the
// order may be meant. Runs at load (`-check`, start-up, reload), never per
// request.
type RouteLinter interface {
	LintRoute(r LintedRoute) []string
}

// LintedRoute is what a RouteLinter sees of its route.
type LintedRoute struct {
	Name    string       // the linter's instance name
	Before  []LintedStep // the filters before it, in route order
	Methods []string     // the route's match.methods; empty: any method
}

// LintedStep is one filter on a route, as a RouteLinter sees it.
type LintedStep struct {
	Name, Type string
	Filter     Filter
}

// Lint runs the chain's RouteLinters over it; methods is the route's
// match.methods. Any goroutine.
func (c *Chain) Lint(methods []string) []string {
	if c == nil {
		return nil
	}
	var out []string
	for i, f := range c.filters {
		l, ok := f.(RouteLinter)
		if !ok {
			continue
		}
		r := LintedRoute{Name: c.labels[i].name, Methods: methods}
		for j := range i {
			r.Before = append(r.Before, LintedStep{Name: c.labels[j].name, Type: c.labels[j].typ, Filter: c.filters[j]})
		}
		out = append(out, l.LintRoute(r)...)
	}
	return out
}
