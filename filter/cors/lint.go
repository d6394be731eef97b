package cors

import (
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/filter"
)

var _ filter.RouteLinter = (*Filter)(nil)

// LintRoute warns when the policy cannot work where the route puts it:
// after a gate (its refusals reach browsers without CORS headers, and an
// authentication gate refuses preflights, which carry no credentials), or
// on a route whose match.methods leave out OPTIONS (preflights get the
// router's 405 before cors runs).
func (f *Filter) LintRoute(r filter.LintedRoute) []string {
	var out []string
	for _, s := range r.Before {
		if _, ok := s.Filter.(filter.Gate); ok {
			out = append(out, fmt.Sprintf("middleware %s (type %s) runs before cors %s: its refusals reach browsers without CORS headers and it sees preflights, which carry no credentials; list %s first",
				s.Name, s.Type, r.Name, r.Name))
		}
	}
	if len(r.Methods) > 0 && !slices.Contains(r.Methods, "OPTIONS") {
		out = append(out, fmt.Sprintf("match.methods leaves out OPTIONS, so preflights get 405 before cors %s sees them; add OPTIONS", r.Name))
	}
	return out
}
