package proxy

import "github.com/sluicehq/sluice/http1"

// isOverrideHeader reports request headers that some upstream frameworks
// read in place of the request line, so the upstream would act on a path or
// a method the router never matched:
//   - X-Original-URL and X-Rewrite-URL name the real path (IIS URL Rewrite
//     sets them; older Symfony and Zend releases trusted them from any
//     client);
//   - X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override name the
//     real method (Express's method-override, Google's and Microsoft's APIs
//     honour them): a GET-only route would forward a GET the upstream runs
//     as a DELETE.
//
// appendUpstreamHead drops them, so the path and method the router matched
// are the only ones the upstream gets. Any goroutine.
func isOverrideHeader(name []byte) bool {
	return http1.EqualFold(name, "X-Original-URL") || http1.EqualFold(name, "X-Rewrite-URL") ||
		http1.EqualFold(name, "X-HTTP-Method-Override") || http1.EqualFold(name, "X-HTTP-Method") ||
		http1.EqualFold(name, "X-Method-Override")
}
