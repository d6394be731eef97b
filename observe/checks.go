package observe

import (
	"slices"
	"strings"
	"sync"
)

// Check is one component's standing, shown by the admin API's /readyz
// beside the gateway's own readiness: a dependency such as the Redis
// behind a cluster rate limit. A failing check does not make the gateway
// unready by itself: the component says in Detail how it copes.
type Check struct {
	// Name says what is checked ("rate_limit per_user").
	Name string `json:"name"`
	// OK is false while the component runs degraded.
	OK bool `json:"ok"`
	// Detail is one line for an operator; "" says nothing more.
	Detail string `json:"detail,omitempty"`
}

var checks = struct {
	sync.Mutex
	next uint64
	m    map[uint64]func() Check
}{m: map[uint64]func() Check{}}

// AddCheck registers fn, called on every /readyz, and returns the function
// that removes it. Any goroutine; fn must be cheap and safe from any
// goroutine.
func AddCheck(fn func() Check) (remove func()) {
	checks.Lock()
	defer checks.Unlock()
	checks.next++
	id := checks.next
	checks.m[id] = fn
	return func() {
		checks.Lock()
		defer checks.Unlock()
		delete(checks.m, id)
	}
}

// Checks returns the registered checks' current results, sorted by name.
// Any goroutine.
func Checks() []Check {
	checks.Lock()
	fns := make([]func() Check, 0, len(checks.m))
	for _, fn := range checks.m {
		fns = append(fns, fn)
	}
	checks.Unlock()
	out := make([]Check, 0, len(fns))
	for _, fn := range fns {
		out = append(out, fn())
	}
	slices.SortFunc(out, func(a, b Check) int { return strings.Compare(a.Name, b.Name) })
	return out
}
