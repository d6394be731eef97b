package router

import "fmt"

// Policy says how Normalize treats the parts of a path that upstreams read
// differently from each other: encoded slashes and path parameters. The
// zero value is the safe default, rejecting both.
type Policy struct {
	// EscapedSlashes is what happens to "%2F", "%5C" (any case) and a raw
	// '\'. Zero value: EscapedSlashesReject.
	EscapedSlashes EscapedSlashes
	// PathParams is what happens to ';' in the path. Zero value:
	// PathParamsReject.
	PathParams PathParams
}

// EscapedSlashes is a Policy's treatment of an encoded '/' or '\' and of a
// raw '\'. Many upstreams (WSGI servers, Tomcat, frameworks on top of
// net/http's decoded URL.Path) decode "%2F" to '/', and Windows servers and
// WHATWG URL parsers read '\' as '/', so a router that keeps them opaque
// routes "/api/admin%2Fstats" to a different route from the one the
// upstream serves.
type EscapedSlashes uint8

const (
	// EscapedSlashesReject refuses the request (400). The default; Envoy's
	// REJECT_REQUEST.
	EscapedSlashesReject EscapedSlashes = iota
	// EscapedSlashesDecode turns each into the separator '/' before dot
	// segments are resolved, so the router and the upstream both see
	// plain slashes (Envoy's UNESCAPE_AND_FORWARD, which also forwards the
	// unescaped path; a '\' is read as '/' the way WHATWG URL parsers and
	// Windows servers read it).
	EscapedSlashesDecode
	// EscapedSlashesKeep leaves them as they are: one opaque segment to the
	// router. Safe only when every upstream also treats them as data (an
	// object store whose keys hold '/'). Envoy's KEEP_UNCHANGED; nginx
	// without proxy_pass URI rewriting.
	EscapedSlashesKeep
)

// PathParams is a Policy's treatment of ';' in a path (RFC 3986 §3.3
// "path parameters"). Servlet containers cut "name;params" to "name"
// before they route, so "/api/secret;x/y" is "/api/secret/y" and
// "/w/..;/adm" is "/adm" to them, while nginx, Envoy and most other
// servers keep ';' as data.
type PathParams uint8

const (
	// PathParamsReject refuses any path holding ';' (400). The default.
	PathParamsReject PathParams = iota
	// PathParamsStrip removes every ";…" up to the next '/' before routing
	// and forwards the stripped path, the way a servlet container reads
	// it; the parameters never reach the upstream.
	PathParamsStrip
	// PathParamsKeep leaves ';' as data in its segment; a segment whose
	// part before ';' is "." or ".." is still refused.
	PathParamsKeep
)

// ParseEscapedSlashes maps a config word (reject, decode, keep) to its value.
func ParseEscapedSlashes(s string) (EscapedSlashes, error) {
	switch s {
	case "reject", "":
		return EscapedSlashesReject, nil
	case "decode":
		return EscapedSlashesDecode, nil
	case "keep":
		return EscapedSlashesKeep, nil
	}
	return 0, fmt.Errorf("unknown escaped_slashes action %q: use reject, decode or keep", s)
}

// ParsePathParams maps a config word (reject, strip, keep) to its value.
func ParsePathParams(s string) (PathParams, error) {
	switch s {
	case "reject", "":
		return PathParamsReject, nil
	case "strip":
		return PathParamsStrip, nil
	case "keep":
		return PathParamsKeep, nil
	}
	return 0, fmt.Errorf("unknown path_params action %q: use reject, strip or keep", s)
}
