package router

import (
	"fmt"
	"strings"
)

// maxHost bounds the request host Match will look up. DNS names are at most
// 253 bytes; a longer Host header cannot equal any configured host, so it
// only reaches the any-host tier. The bound lets Match lower-case the host in
// a stack buffer instead of allocating.
const maxHost = 256

// hostKind says which tier a Spec's host belongs to.
type hostKind uint8

const (
	hostAny   hostKind = iota // Spec.Host == ""
	hostExact                 // "api.example.com"
	hostWild                  // "*.example.com", keyed by ".example.com"
)

// parseSpecHost validates a configured host and returns its tier and lookup
// key: lower-cased, without a trailing dot, and for wildcards the suffix
// including its leading dot.
func parseSpecHost(h string) (hostKind, string, error) {
	if h == "" {
		return hostAny, "", nil
	}
	key := strings.ToLower(strings.TrimSuffix(h, "."))
	kind := hostExact
	if strings.HasPrefix(key, "*.") {
		kind, key = hostWild, key[1:]
		if len(key) < 2 {
			return 0, "", fmt.Errorf("host %q: a wildcard needs a domain after \"*.\"", h)
		}
	}
	if key == "" {
		return 0, "", fmt.Errorf("host %q is empty", h)
	}
	if len(key) >= maxHost {
		return 0, "", fmt.Errorf("host %q is longer than %d bytes", h, maxHost-1)
	}
	if strings.HasPrefix(key, "[") {
		// IPv6 literal: the brackets must close at the very end, or the
		// rest is a port.
		if !strings.HasSuffix(key, "]") || strings.Count(key, "]") != 1 {
			return 0, "", fmt.Errorf("host %q: bad IPv6 literal or unexpected port (ports are ignored when matching; drop it)", h)
		}
		return kind, key, nil
	}
	labels := key
	if kind == hostWild {
		labels = key[1:]
	}
	for i := 0; i < len(labels); i++ {
		c := labels[i]
		switch {
		case c == ':':
			return 0, "", fmt.Errorf("host %q must not include a port (ports are ignored when matching)", h)
		case c == '*':
			return 0, "", fmt.Errorf("host %q: '*' is allowed only as the whole first label, as in \"*.example.com\"", h)
		case c == '.' && (i == 0 || labels[i-1] == '.'):
			return 0, "", fmt.Errorf("host %q has an empty label", h)
		case c <= ' ' || c >= 0x7f || c == '/' || c == '[' || c == ']' || c == '@':
			return 0, "", fmt.Errorf("host %q contains invalid character %q", h, c)
		}
	}
	return kind, key, nil
}

// requestHostKey turns a Host header (or :authority) into the form Spec hosts
// are keyed by: port cut off, trailing dot dropped, lower-cased into buf. It
// reports false when the host cannot match any configured host (empty, or too
// long for buf), so only the any-host tier applies.
func requestHostKey(buf *[maxHost]byte, host []byte) ([]byte, bool) {
	if len(host) > 0 && host[0] == '[' {
		// IPv6 literal: keep through the closing bracket, drop ":port".
		end := -1
		for i, c := range host {
			if c == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, false
		}
		host = host[:end+1]
	} else {
		for i := len(host) - 1; i >= 0; i-- {
			if host[i] == ':' {
				host = host[:i]
				break
			}
		}
	}
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if len(host) == 0 || len(host) > len(buf) {
		return nil, false
	}
	for i, c := range host {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(host)], true
}
