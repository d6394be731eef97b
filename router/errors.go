package router

import "errors"

// Sentinel errors. Add wraps the route errors with %w and a message naming the
// route and the offending part, so callers can both test with errors.Is and
// show the text to a human (the config layer prefixes it with file:line).
var (
	// ErrBadPath reports a request path that is not a valid origin-form path:
	// it does not start with '/' or holds malformed percent-encoding.
	ErrBadPath = errors.New("router: bad request path")
	// ErrPathEscapes reports a request path whose ".." segments would climb
	// above the root. It is a 400, not a 404: the client tried traversal.
	ErrPathEscapes = errors.New("router: path escapes the root")

	// ErrInvalidRoute reports a Spec whose host, path, methods or headers are
	// malformed.
	ErrInvalidRoute = errors.New("invalid route")
	// ErrRouteConflict reports a Spec whose path cannot share the trie with an
	// earlier one: a different parameter or wildcard name at the same position.
	ErrRouteConflict = errors.New("conflicting route")
	// ErrDuplicateRoute reports a Spec that would shadow an earlier one
	// completely: same host, same path, same headers and overlapping methods.
	ErrDuplicateRoute = errors.New("duplicate route")
)
