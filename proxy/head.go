package proxy

import (
	"bytes"
	"strconv"

	"github.com/sluicehq/sluice/http1"
)

// via is what Sluice adds to Via (RFC 9110 §7.6.3) in both directions.
const via = "sluice"

// appendUpstreamHead writes the request head sent upstream: always HTTP/1.1,
// the normalised and prefix-stripped path (or a filter's rewrite, as the
// query and Host), hop-by-hop headers and those the client named in
// Connection removed, identity headers the gateway owns
// removed so no client can forge them, and the forwarding headers set
// (forwarded.go).
func appendUpstreamHead(b []byte, ex *exchange, req *http1.Request, path []byte) []byte {
	path = ex.fx.ForwardPath(path, ex.route.StripPrefix) // strip_prefix, or a filter's rewrite
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, path...)
	if q := ex.fx.ForwardQuery(req.Query); q != nil {
		b = append(b, '?')
		b = append(b, q...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	ex.hostAt = len(b)
	if h := ex.fx.UpstreamHost(); h != nil { // a filter's (transform's host)
		b = append(b, h...)
	} else if ex.route.PreserveHost && len(req.Host) > 0 {
		b = append(b, req.Host...)
	} else {
		b = append(b, ex.target.Host...)
	}
	ex.hostEnd = len(b)
	b = append(b, "\r\n"...)

	named := connectionNamesOthers(req.Headers)
	var vias int
	var fwd fwdSeen
	for _, h := range req.Headers {
		switch {
		case ex.fx.Stripped(h.Name): // a filter consumed it (Authorization, an API key)
			continue
		case http1.IsHopByHop(h.Name), http1.EqualFold(h.Name, "Content-Length"):
			continue // framing is ours to write, below, whatever Connection says
		case named && inConnection(req.Headers, h.Name):
			continue
		case fwd.note(h.Name):
			continue // written by appendForwarding, below
		case http1.EqualFold(h.Name, "Via"):
			vias++
			continue
		case http1.EqualFold(h.Name, "Host"),
			http1.EqualFold(h.Name, "X-Request-ID"),
			isIdentityHeader(h.Name), isOverrideHeader(h.Name),
			(ex.clientMinor == 0 || ex.bufWhole) && http1.EqualFold(h.Name, "Expect"):
			continue
		}
		b = appendHeader(b, h.Name, h.Value)
	}
	b = appendForwarding(b, ex, req, fwd)
	b = appendTrace(b, ex, req.Headers, vias > 0, ex.clientMinor)
	b = append(b, ex.fx.UpstreamHeaders()...)
	switch {
	case ex.reqFraming == http1.FramingChunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case req.ContentLength >= 0:
		b = appendContentLength(b, req.ContentLength)
	}
	return append(b, "\r\n"...)
}

// appendContentLength writes the one Content-Length the gateway vouches for:
// the parser's value, never the peer's spelling of it (duplicates, "5, 5"),
// and never dropped because a Connection header named it.
func appendContentLength(b []byte, n int64) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, "\r\n"...)
}

// appendClientHead writes the response head sent to the client: the
// upstream's status and headers less hop-by-hop ones, our framing and
// connection headers, and the request ID.
func appendClientHead(b []byte, ex *exchange) []byte {
	r := &ex.resp
	b = appendRelayedStatus(b, r)
	named := connectionNamesOthers(r.Headers)
	removes := ex.fx.RemovesResponseHeaders()
	var vias int
	for _, h := range r.Headers {
		switch {
		case http1.IsHopByHop(h.Name), http1.EqualFold(h.Name, "Content-Length"):
			continue
		case named && inConnection(r.Headers, h.Name):
			continue
		case removes && ex.fx.ResponseRemoved(h.Name): // a ResponseHead filter's Remove
			continue
		case http1.EqualFold(h.Name, "Via"):
			vias++
			continue
		case http1.EqualFold(h.Name, "X-Request-ID"):
			continue
		}
		b = appendHeader(b, h.Name, h.Value)
	}
	b = appendTrace(b, ex, r.Headers, vias > 0, r.Minor)
	b = append(b, ex.fx.ResponseHeaders()...)
	switch {
	case ex.rb.on:
		b = appendBodyFraming(b, ex) // a transformed body (response_body.go)
	case ex.respFrame == http1.FramingChunked && !ex.dechunk:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case r.ContentLength >= 0 && !r.Chunked && r.Status != 204:
		// Also HEAD's and 304's, which describe the resource; never on a
		// 204, which RFC 9110 §8.6 forbids and some clients then wait on.
		b = appendContentLength(b, r.ContentLength)
	}
	switch {
	case !ex.keepAlive:
		b = append(b, "Connection: close\r\n"...)
	case ex.clientMinor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendInterimHead writes a 1xx response for the client: status line and
// end-to-end headers (103's Link, say), nothing of ours, and no
// Content-Length, which a 1xx must not carry (RFC 9110 §8.6).
func appendInterimHead(b []byte, r *http1.Response) []byte {
	b = appendRelayedStatus(b, r)
	named := connectionNamesOthers(r.Headers)
	for _, h := range r.Headers {
		if http1.IsHopByHop(h.Name) || http1.EqualFold(h.Name, "Content-Length") || (named && inConnection(r.Headers, h.Name)) {
			continue
		}
		b = appendHeader(b, h.Name, h.Value)
	}
	return append(b, "\r\n"...)
}

// appendRelayedStatus writes the upstream's status and reason as our
// HTTP/1.1 status line.
func appendRelayedStatus(b []byte, r *http1.Response) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, ' ')
	b = append(b, r.Reason...)
	return append(b, "\r\n"...)
}

func appendHeader(b, name, value []byte) []byte {
	b = append(b, name...)
	b = append(b, ": "...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

// appendTrace writes the headers that trace a message through the gateway,
// the same both ways: Via with our hop appended to any earlier ones (with the
// protocol version the message arrived with), and the request ID.
func appendTrace(b []byte, ex *exchange, hs []http1.Header, hadVia bool, minor int) []byte {
	b = append(b, "Via: "...)
	if hadVia {
		b = appendJoined(b, hs, "Via")
		b = append(b, ", "...)
	}
	if minor == 0 {
		b = append(b, "1.0 "...)
	} else {
		b = append(b, "1.1 "...)
	}
	b = append(b, via...)
	b = append(b, "\r\nX-Request-ID: "...)
	b = append(b, ex.requestID()...)
	return append(b, "\r\n"...)
}

// appendJoined writes the values of every header called name, comma-joined
// (RFC 9110 §5.3 makes repeated list headers equivalent to one joined line).
func appendJoined(b []byte, hs []http1.Header, name string) []byte {
	first := true
	for _, h := range hs {
		if !http1.EqualFold(h.Name, name) {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = append(b, h.Value...)
	}
	return b
}

// connectionNamesOthers reports whether a Connection header names anything
// besides close and keep-alive; only then must every header be checked
// against it, which keeps the common case to one pass.
func connectionNamesOthers(hs []http1.Header) bool {
	return connectionLists(hs, func(tok []byte) bool {
		return len(tok) > 0 && !http1.EqualFold(tok, "close") && !http1.EqualFold(tok, "keep-alive")
	})
}

// inConnection reports whether name is listed in a Connection header
// (RFC 9110 §7.6.1: such headers are hop-by-hop too).
func inConnection(hs []http1.Header, name []byte) bool {
	return connectionLists(hs, func(tok []byte) bool { return bytes.EqualFold(tok, name) })
}

// connectionLists reports whether any token of the Connection headers
// satisfies match. match does not escape, so the closures above cost nothing.
func connectionLists(hs []http1.Header, match func(tok []byte) bool) bool {
	for _, h := range hs {
		if !http1.EqualFold(h.Name, "Connection") {
			continue
		}
		for list := h.Value; len(list) > 0; {
			var tok []byte
			tok, list = http1.NextToken(list)
			if match(tok) {
				return true
			}
		}
	}
	return false
}

// isIdentityHeader matches the headers only the gateway may set upstream
// (DESIGN §5): a client that sends them is trying to forge an identity. '_'
// counts as '-', because CGI-style stacks (WSGI, Rack, PHP) read X_User_Id
// and X-User-Id as the same variable.
func isIdentityHeader(name []byte) bool {
	return hasPrefixLoose(name, "x-user-") || hasPrefixLoose(name, "x-consumer-")
}

// hasPrefixLoose compares case-insensitively with '_' equal to '-'; prefix
// must be lower case.
func hasPrefixLoose(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := b[i] | 0x20 // ASCII lower case; maps '_' to 0x7f, handled below
		if b[i] == '_' {
			c = '-'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}
