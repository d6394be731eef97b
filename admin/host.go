package admin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Without a token, the admin API trusts whoever can reach its listener,
// which by default is loopback only. A web page can still reach it through
// the operator's browser by DNS rebinding: the attacker's name
// (rebind.evil.example) first resolves to the attacker, then to 127.0.0.1,
// and the page reads /config as a same-origin response. The browser then
// sends the attacker's name in Host, so refusing names that are not
// loopback closes the hole (as the Go toolchain's and Jupyter's local
// servers do). A rebinding page can never make the browser send an IP
// literal or a *.localhost name: those never go to DNS.
//
// Accepted Host values, each with or without a port:
//
//   - absent or empty (HTTP/1.0 without Host: not a browser);
//   - "localhost" and any "*.localhost" name (RFC 6761 §6.3: always
//     loopback, browsers resolve them without DNS);
//   - a loopback address: 127.0.0.0/8, [::1], [::ffff:127.x.x.x];
//   - the address the request arrived on (the listener's own IP, for an
//     admin listener bound beyond loopback and reached by address).
//
// With admin_token_env set, any Host is accepted: the page cannot know the
// token, and a token-holding client may use any name.

// hostAllowed reports whether r's Host names this machine as a loopback
// name or address. Any goroutine.
func hostAllowed(r *http.Request) bool {
	host := r.Host
	if host == "" {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // [::1] without a port
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false // a DNS name that is not localhost: possibly rebound
	}
	ip = ip.Unmap()
	if ip.IsLoopback() {
		return true
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil && ap.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}
