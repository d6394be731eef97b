package proxy

import (
	"net/netip"

	"github.com/sluicehq/sluice/http1"
)

// The headers that tell an upstream who the client is and how it reached
// the gateway: X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host,
// Forwarded (RFC 7239) and X-Real-IP. A client can write any of them, and
// upstream frameworks read them (many take X-Forwarded-For's left-most
// entry, or Forwarded's first for=), so what a client sent is believed only
// when it came through a trusted proxy:
//
//   - peer not in trusted_proxies (the default, and every peer when the list
//     is empty): every one of them from the client is dropped and written
//     afresh. X-Forwarded-For and Forwarded's for= are the TCP peer,
//     X-Forwarded-Proto and proto= are "http" (the listener's scheme),
//     X-Forwarded-Host and host= are the request's Host.
//   - peer in trusted_proxies: the proxy's X-Forwarded-For and Forwarded
//     lists are kept and our hop appended (its for= is that proxy, our
//     peer); its X-Forwarded-Proto and X-Forwarded-Host are kept (it
//     terminated the client's connection and knows the scheme), and set
//     by us when absent.
//   - X-Real-IP is always the client the gateway resolved once per request
//     in begin (the peer, or the right-most untrusted X-Forwarded-For entry
//     behind a trusted proxy): the address per-IP limits and the access log
//     use, never a client's claim.

// fwdSeen records which forwarding headers a request carries. Its zero value
// has seen none.
type fwdSeen uint8

const (
	fwdXFF fwdSeen = 1 << iota
	fwdXFProto
	fwdXFHost
	fwdForwarded
)

// note reports whether name is a forwarding header (and records which), so
// the caller leaves it to appendForwarding.
func (s *fwdSeen) note(name []byte) bool {
	switch {
	case http1.EqualFold(name, "X-Forwarded-For"):
		*s |= fwdXFF
	case http1.EqualFold(name, "X-Forwarded-Proto"):
		*s |= fwdXFProto
	case http1.EqualFold(name, "X-Forwarded-Host"):
		*s |= fwdXFHost
	case http1.EqualFold(name, "Forwarded"):
		*s |= fwdForwarded
	case http1.EqualFold(name, "X-Real-IP"):
	default:
		return false
	}
	return true
}

// appendForwarding writes the forwarding headers as the comment above
// describes. seen says which ones the client sent. Loop only.
func appendForwarding(b []byte, ex *exchange, req *http1.Request, seen fwdSeen) []byte {
	keep := func(f fwdSeen) bool { return ex.peerTrusted && seen&f != 0 }
	b = append(b, "X-Forwarded-For: "...)
	if keep(fwdXFF) {
		b = appendJoined(b, req.Headers, "X-Forwarded-For")
		b = append(b, ", "...)
	}
	b = append(b, ex.cl.ip...)
	b = append(b, "\r\nX-Forwarded-Proto: "...)
	if keep(fwdXFProto) {
		b = appendJoined(b, req.Headers, "X-Forwarded-Proto")
	} else {
		b = append(b, "http"...)
	}
	b = append(b, "\r\n"...)
	switch {
	case keep(fwdXFHost):
		b = append(b, "X-Forwarded-Host: "...)
		b = appendJoined(b, req.Headers, "X-Forwarded-Host")
		b = append(b, "\r\n"...)
	case len(req.Host) > 0:
		b = append(b, "X-Forwarded-Host: "...)
		b = append(b, req.Host...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Forwarded: "...)
	if keep(fwdForwarded) {
		b = appendJoined(b, req.Headers, "Forwarded")
		b = append(b, ", "...)
	}
	b = appendForwardedElement(b, ex.cl.addr, req.Host)
	if ip := ex.fx.ClientIP; ip.IsValid() {
		b = append(b, "\r\nX-Real-IP: "...)
		b = ip.AppendTo(b)
	}
	return append(b, "\r\n"...)
}

// appendForwardedElement writes our forwarded-element (RFC 7239 §4):
// for=<peer>;proto=http[;host=<Host>]. An IPv6 node is bracketed and
// quoted (§6: ':' and '[' are not token characters); a host that is not a
// token (a port's ':', an IPv6 literal) is a quoted-string.
func appendForwardedElement(b []byte, peer netip.Addr, host []byte) []byte {
	b = append(b, "for="...)
	switch {
	case !peer.IsValid():
		b = append(b, "unknown"...)
	case peer.Is6():
		b = append(b, "\"["...)
		b = peer.AppendTo(b)
		b = append(b, "]\""...)
	default:
		b = peer.AppendTo(b)
	}
	b = append(b, ";proto=http"...)
	if len(host) > 0 {
		b = append(b, ";host="...)
		b = appendTokenOrQuoted(b, host)
	}
	return b
}

// appendTokenOrQuoted writes v as a token when it is one, otherwise as a
// quoted-string with '"' and '\' escaped (RFC 9110 §5.6.4).
func appendTokenOrQuoted(b, v []byte) []byte {
	if http1.IsToken(v) {
		return append(b, v...)
	}
	b = append(b, '"')
	for _, c := range v {
		if c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return append(b, '"')
}
