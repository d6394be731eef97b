package pipeline

import "strings"

// undeclaredParam returns the first of names that the route pattern path
// does not declare (":name" segments, a last "*name" or "*"), "" if none.
func undeclaredParam(names []string, path string) string {
	declared := map[string]bool{}
	for seg := range strings.SplitSeq(path, "/") {
		switch {
		case seg == "*":
			declared["*"] = true
		case strings.HasPrefix(seg, ":"), strings.HasPrefix(seg, "*"):
			declared[seg[1:]] = true
		}
	}
	for _, n := range names {
		if !declared[n] {
			return n
		}
	}
	return ""
}
