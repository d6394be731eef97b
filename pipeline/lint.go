package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/router"
)

// probeMethods are the methods FallthroughWarnings tries beside those the
// config names.
var probeMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}

// FallthroughWarnings lists, for `sluice -check` and start-up, each route
// that opts in to method fall-through (match.method_fallthrough) where a
// method it refuses then reaches a less specific route that lacks some of
// its middleware: the opt-in hands those methods to weaker authentication.
// It asks s's own router, with a request built from each such route's
// pattern (one segment per parameter or wildcard, and a wildcard's bare
// prefix), host and headers, so the answer is the one requests get. cfg is
// the config s was built from. Any goroutine; nil when nothing is found.
func (s *Snapshot) FallthroughWarnings(cfg *config.Config) []string {
	methods := slices.Clone(probeMethods)
	for _, rc := range cfg.Routes {
		for _, m := range rc.Match.Methods {
			if !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
	}
	var out []string
	for i, rc := range cfg.Routes {
		if !rc.Match.MethodFallthrough || len(rc.Match.Methods) == 0 {
			continue // a route without methods refuses none
		}
		host := rc.Match.Host
		if strings.HasPrefix(host, "*.") {
			host = "probe" + host[1:]
		}
		h := probeHeaders(rc.Match.Headers)
		found := map[int][]string{} // catching route -> methods it gets
		example := map[int]string{} // and the first probe path it got
		var order []int
		for _, path := range probePaths(rc.Match.Path) {
			for _, m := range methods {
				if slices.Contains(rc.Match.Methods, m) || m == "HEAD" && slices.Contains(rc.Match.Methods, "GET") {
					continue
				}
				var ps router.Params
				v, res, _ := s.Router.Match([]byte(host), []byte(m), []byte(path), h, &ps)
				if res != router.Found || v == i || len(missing(rc.Middleware, cfg.Routes[v].Middleware)) == 0 {
					continue
				}
				if _, ok := example[v]; !ok {
					order = append(order, v)
					example[v] = path
				}
				if !slices.Contains(found[v], m) {
					found[v] = append(found[v], m)
				}
			}
		}
		for _, v := range order {
			to := cfg.Routes[v]
			out = append(out, fmt.Sprintf("%s: routes[%d] %q: method_fallthrough sends %s requests for %s to route %q, which lacks middleware %s",
				rc.Pos, i, rc.Name, strings.Join(found[v], ", "), example[v], to.Name, strings.Join(missing(rc.Middleware, to.Middleware), ", ")))
		}
	}
	return out
}

// missing returns the names in want that have does not list.
func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// probePaths turns a route pattern into request paths it matches: each
// ":param" and "*wildcard" segment becomes "p", and a trailing wildcard
// also gives its bare prefix.
func probePaths(pattern string) []string {
	segs := strings.Split(pattern, "/")
	bare := ""
	for i, sg := range segs {
		switch {
		case strings.HasPrefix(sg, ":"):
			segs[i] = "p"
		case strings.HasPrefix(sg, "*"):
			bare = strings.Join(segs[:i], "/")
			segs[i] = "p"
		}
	}
	out := []string{strings.Join(segs, "/")}
	if bare != "" {
		out = append(out, bare)
	}
	return out
}

// probeHeaders satisfies a route's header conditions.
type probeHeaders map[string]string

func (p probeHeaders) Header(name string) []byte {
	for k, v := range p {
		if strings.EqualFold(k, name) {
			if v == "" {
				v = "probe"
			}
			return []byte(v)
		}
	}
	return nil
}

// RouteWarnings lists what the middleware on each route says about its
// own placement (filter.RouteLinter: cors after authentication, say), each
// prefixed with the route's position and name. cfg is the config s was
// built from. Any goroutine; nil when nothing is found.
func (s *Snapshot) RouteWarnings(cfg *config.Config) []string {
	var out []string
	for i, rc := range cfg.Routes {
		for _, w := range s.Routes[i].Chain.Lint(rc.Match.Methods) {
			out = append(out, fmt.Sprintf("%s: routes[%d] %q: %s", rc.Pos, i, rc.Name, w))
		}
	}
	return out
}
