package router

import "errors"

// Sentinel errors. Add wraps the route errors with %w and a message naming the
// route and the offending part, so callers can both test with errors.Is and
// show the text to a human (the config layer prefixes it with file:line).
var (
	// ErrBadPath reports a request path that is not a valid origin-form path:
	// it does not start with '/' or holds a byte that is not visible ASCII.
	// Every more precise path error below but ErrPathEscapes also matches it
	// under errors.Is.
	ErrBadPath = errors.New("router: bad request path")
	// ErrPathEscapes reports a request path whose ".." segments would climb
	// above the root. It is a 400, not a 404: the client tried traversal.
	ErrPathEscapes = errors.New("router: path escapes the root")
	// ErrBadEncoding reports malformed percent-encoding: "%zz", a "%" or
	// "%4" at the end.
	ErrBadEncoding error = &pathError{"router: bad request path: malformed percent-encoding"}
	// ErrBadUTF8 reports percent-encoded bytes above 0x7F that are not
	// well-formed UTF-8, such as the overlong "%C0%AE" (a '.' to decoders
	// that do not check).
	ErrBadUTF8 error = &pathError{"router: bad request path: percent-encoded bytes are not valid UTF-8"}
	// ErrControl reports a percent-encoded control character (%00-%1F, %7F).
	ErrControl error = &pathError{"router: bad request path: encoded control character"}
	// ErrEscapedSlash reports an encoded '/' or '\' or a raw '\' under
	// EscapedSlashesReject.
	ErrEscapedSlash error = &pathError{`router: bad request path: encoded '/' or '\', or a raw '\'`}
	// ErrPathParam reports a ';' under PathParamsReject, or a "." or ".."
	// segment with parameters ("..;x") under PathParamsKeep.
	ErrPathParam error = &pathError{"router: bad request path: ';' path parameter"}

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

// pathError is a precise reason for a bad path that still is ErrBadPath.
type pathError struct{ msg string }

func (e *pathError) Error() string { return e.msg }
func (e *pathError) Unwrap() error { return ErrBadPath }
