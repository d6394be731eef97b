package engine

import "github.com/sluicehq/sluice/http1"

// isPathOverrideHeader reports request headers that some upstream
// frameworks read as the request's real path in place of the request line
// (X-Original-URL and X-Rewrite-URL: IIS URL Rewrite sets them, and older
// Symfony and Zend releases trusted them from any client). The router
// never sees them, so a client could name a protected path there while
// the request line names an open one; appendUpstreamHead drops them so the
// path the router matched is the only path the upstream gets. Any
// goroutine.
func isPathOverrideHeader(name []byte) bool {
	return http1.EqualFold(name, "X-Original-URL") || http1.EqualFold(name, "X-Rewrite-URL")
}
