package main

import (
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/config"
)

// refusingTypes are the middleware types that may answer a request in its
// request phase (401, 403, 429, ...). Before a cors instance on a route,
// such an answer carries no CORS headers, so the page cannot read it, and
// an authentication type refuses every preflight, which never carries
// credentials.
var refusingTypes = []string{"jwt", "api_key", "require", "rate_limit", "validate"}

// corsWarnings lists, for `sluice -check`, start-up and reloads, each route
// whose cors middleware cannot do its job: listed after middleware that
// refuses requests, or on a route whose match.methods leave out OPTIONS
// (preflights then get the router's 405). The config stays valid: the
// order may be meant. Any goroutine; nil when nothing is found.
func corsWarnings(cfg *config.Config) []string {
	var out []string
	for i, rc := range cfg.Routes {
		at := slices.IndexFunc(rc.Middleware, func(name string) bool {
			m := cfg.Middleware[name]
			return m != nil && m.Type == "cors"
		})
		if at < 0 {
			continue
		}
		cors := rc.Middleware[at]
		for _, name := range rc.Middleware[:at] {
			if m := cfg.Middleware[name]; m != nil && slices.Contains(refusingTypes, m.Type) {
				out = append(out, fmt.Sprintf("%s: routes[%d] %q: middleware %s (type %s) runs before cors %s: its refusals reach browsers without CORS headers and it sees preflights, which carry no credentials; list %s first",
					rc.Pos, i, rc.Name, name, m.Type, cors, cors))
			}
		}
		if len(rc.Match.Methods) > 0 && !slices.Contains(rc.Match.Methods, "OPTIONS") {
			out = append(out, fmt.Sprintf("%s: routes[%d] %q: match.methods leaves out OPTIONS, so preflights get 405 before cors %s sees them; add OPTIONS",
				rc.Pos, i, rc.Name, cors))
		}
	}
	return out
}
