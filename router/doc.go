// Package router maps a request's host, method, path and headers to the
// route that serves it. It imports only the standard library and knows
// nothing of config files or event loops: the pipeline builds a Router from
// the configuration with New and Add, and every event loop calls Match on it
// for each request.
//
// # Life cycle
//
// A Router is built once (at start and on every reload) and then only read.
// Match takes no locks and allocates nothing, so one Router is shared by all
// loops; a reload builds a new Router and swaps a pointer. Add is not safe to
// call concurrently with Add or Match.
//
// # Paths
//
// Match expects a path already passed through a Policy's Normalize, which
// the gateway also forwards upstream, so routing and the upstream see the
// same path: "/api/products/../admin" is routed (and forwarded) as
// "/api/admin", and the forms upstreams disagree on (an encoded '/', a
// raw '\', a ';' parameter, an overlong UTF-8 '.') are refused or
// rewritten before either sees them. Route patterns must themselves be in
// normal form; Add says how to rewrite one that is not.
//
// A pattern is made of segments separated by '/':
//
//	/users          static text, matched byte for byte (case-sensitive)
//	/users/:id      ":id" matches exactly one non-empty segment
//	/files/*path    "*path", only as the last segment, matches the rest of
//	                the path including slashes, possibly empty
//	/api/*          an unnamed wildcard, captured under the name "*"
//
// "/users" and "/users/" are different paths, and there are no redirects
// between them. "/files/*path" matches "/files/" and "/files/a/b", and also
// the bare "/files" (capturing ""), so a route guarding a subtree also
// guards its root: "/api/admin" is not left to a catch-all. An exact
// "/files" route, when there is one, wins over that. Parameters at the same
// position in one host must share a name (/a/:id and /a/:name cannot both
// exist), and a route has at most MaxParams parameters.
//
// # Precedence
//
// Match tries host tiers from the most specific down and stops at the first
// tier where the path matches:
//
//  1. the route host equal to the request host (case-insensitive, the
//     request's ":port" and a trailing dot ignored);
//  2. wildcard hosts, longest suffix first ("*.a.example.com" before
//     "*.example.com"); "*.example.com" needs at least one label before
//     "example.com" and does not match "example.com" itself;
//  3. routes without a host.
//
// A tier is passed over only when nothing in it matches the path and headers.
// When a tier has routes for the path and headers but none accepts the
// method, Match answers MethodNotAllowed for that tier rather than falling
// through, so a request for a host with its own routes never leaks to the
// catch-all routes just by changing its method.
//
// Within a tier the trie is searched segment by segment, trying at each
// position static text first, then a ":param", then a "*wildcard", and
// backtracking when a branch fails: with /users/new and /users/:id both
// present, "/users/new" picks the first and "/users/42" the second; with
// /users/:id/posts and /users/*rest, "/users/42/likes" falls back to the
// wildcard. A route ending exactly at the path beats a wildcard matching an
// empty remainder. Backtracking stops when a path matches but the
// method does not: with GET /users/me and POST /users/:id, "POST /users/me"
// is a 405 (Allow: GET, HEAD), never the less specific route, whose
// middleware may be weaker. A route with Spec.MethodFallthrough lets the
// search go on instead, so the same request picks the second route. Each
// trie node is visited at most once per Match.
//
// Among the routes of one pattern, routes with conditions (each header one,
// an AcceptVersion one) are tried before routes without, more conditions
// first, and routes with equally many conditions in the order they were
// added. A route matches when all its conditions hold and it accepts the
// method. A route without methods accepts every method, so a path that has
// one (with matching conditions) never yields 405. This ordering is what
// makes API versioning work: routes with an AcceptVersion (or a version
// header) at one pattern are tried first, and the route there without one
// is the default version, serving requests that ask for none, for one no
// route serves, or with an Accept header that names no readable version.
// The Accept header is read once per Match, on the first route that needs
// it, without allocating.
//
// HEAD: a route that lists GET also accepts HEAD, as net/http does; an
// upstream that serves GET answers HEAD with the same headers. A route that
// lists HEAD explicitly wins over one that accepts it only through GET.
//
// MethodNotAllowed comes with the value of an Allow header: the union of the
// methods of every route in the tier whose path and headers matched, in the
// order GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE, then
// other methods alphabetically, e.g. "GET, HEAD, POST". These values are
// precomputed by Add for routers naming up to 12 distinct methods (and cached
// on first use beyond that).
package router
