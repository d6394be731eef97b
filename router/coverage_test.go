package router

import "testing"

// TestBarePrefix pins issue 12's second point: "/x/*" covers "/x" itself,
// so `curl /api/admin` runs the admin route's middleware instead of
// falling to a catch-all.
func TestBarePrefix(t *testing.T) {
	r := build(t, []Spec{
		{Path: "/*", Value: 1},           // the catch-all
		{Path: "/api/admin/*", Value: 2}, // the protected subtree
		{Path: "/api/admins", Value: 3},  // shares "/api/admin" in the trie
		{Path: "/api/:name", Value: 4},   // a param at the bare prefix's position
		{Path: "/exact", Methods: []string{"GET"}, Value: 5},
		{Path: "/exact/*rest", Value: 6},            // an exact route beats its bare wildcard
		{Path: "/users/:id/files/*f", Value: 7},     // bare prefix below a param
		{Host: "h.example", Path: "/h/*", Value: 8}, // host tiers too
	})
	runCases(t, r, []matchCase{
		{name: "bare prefix matches the wildcard ahead of /api/:name and /*, empty capture", path: "/api/admin", want: 2, params: "*="},
		{name: "with its slash as before", path: "/api/admin/", want: 2, params: "*="},
		{name: "below it as before", path: "/api/admin/stats", want: 2, params: "*=stats"},
		{name: "a longer static sibling is untouched", path: "/api/admins", want: 3},
		{name: "the param still takes other segments", path: "/api/other", want: 4, params: "name=other"},
		{name: "a prefix of the prefix is not covered", path: "/api/admi", want: 4, params: "name=admi"},
		{name: "the exact route wins", path: "/exact", want: 5},
		{name: "the exact route's method miss is a 405, not its wildcard", method: "POST", path: "/exact", res: MethodNotAllowed, allow: "GET, HEAD"},
		{name: "below a param", path: "/users/9/files", want: 7, params: "id=9,f="},
		{name: "in a host tier", host: "h.example", path: "/h", want: 8, params: "*="},
		{name: "root catch-all unchanged", path: "/other/x", want: 1, params: "*=other/x"},
	})
}

// TestMethodFallthrough pins issue 12's third point: with "/api/reports/*"
// limited to GET (behind an API key in the config) and a catch-all "/*",
// DELETE /api/reports/x is a 405 with Allow, unless the specific route opts
// in to letting other methods fall through.
func TestMethodFallthrough(t *testing.T) {
	strict := build(t, []Spec{
		{Path: "/api/reports/*", Methods: []string{"GET"}, Value: 1},
		{Path: "/*", Value: 2},
	})
	runCases(t, strict, []matchCase{
		{name: "allowed method", path: "/api/reports/x", want: 1, params: "*=x"},
		{name: "refused method stops at the specific route", method: "DELETE", path: "/api/reports/x", res: MethodNotAllowed, allow: "GET, HEAD"},
		{name: "and on the bare prefix", method: "DELETE", path: "/api/reports", res: MethodNotAllowed, allow: "GET, HEAD"},
		{name: "other paths reach the catch-all", method: "DELETE", path: "/api/other", want: 2, params: "*=api/other"},
	})
	open := build(t, []Spec{
		{Path: "/api/reports/*", Methods: []string{"GET"}, MethodFallthrough: true, Value: 1},
		{Path: "/*", Value: 2},
		{Path: "/users/me", Methods: []string{"GET"}, MethodFallthrough: true, Value: 3},
		{Path: "/users/:id", Methods: []string{"POST"}, MethodFallthrough: true, Value: 4},
		{Path: "/users/*rest", Methods: []string{"PATCH"}, Value: 5},
	})
	runCases(t, open, []matchCase{
		{name: "opted in: the catch-all gets the refused method", method: "DELETE", path: "/api/reports/x", want: 2, params: "*=api/reports/x"},
		{name: "static falls through to param", method: "POST", path: "/users/me", want: 4, params: "id=me"},
		{name: "param falls through to wildcard", method: "PATCH", path: "/users/me", want: 5, params: "rest=me"},
		{name: "a strict route on the way stops it, Allow unions what was seen", method: "DELETE", path: "/users/me", res: MethodNotAllowed, allow: "GET, HEAD, POST, PATCH"},
	})
	// Routes on one pattern are one route to this rule: a refused method
	// tries the pattern's other routes, then stops.
	same := build(t, []Spec{
		{Path: "/items", Methods: []string{"GET"}, MethodFallthrough: true, Value: 1},
		{Path: "/items", Methods: []string{"POST"}, Value: 2},
		{Path: "/*", Value: 3},
	})
	runCases(t, same, []matchCase{
		{name: "sibling route takes its method", method: "POST", path: "/items", want: 2},
		{name: "one strict sibling makes the pattern strict", method: "DELETE", path: "/items", res: MethodNotAllowed, allow: "GET, HEAD, POST"},
	})
}
