package proxy

import (
	"time"

	"github.com/sluicehq/sluice/http1"
)

// dates formats the Date header of the responses the gateway writes itself
// (RFC 9110 §6.6.1), once a second.
var dates http1.DateCache

// respondError answers the exchange's request with the gateway's JSON error
// (DESIGN §5) and ends the exchange. mustClose closes the connection after
// the response, for when the rest of the client's stream cannot be trusted
// or was not read. Loop only.
func (ex *exchange) respondError(status int, msg string, allow []byte, mustClose bool) {
	var body [256]byte
	ex.respondLocal(status, jsonContentType, appendErrorBody(body[:0], ex, msg), allow, mustClose)
}

// appendErrorResponse writes a whole JSON error response to b.
func appendErrorResponse(b []byte, ex *exchange, status int, msg string, allow []byte, keepAlive bool) []byte {
	var body [256]byte
	return appendLocalResponse(b, ex, status, jsonContentType, appendErrorBody(body[:0], ex, msg), allow, keepAlive)
}

// appendErrorBody writes the JSON error document.
func appendErrorBody(b []byte, ex *exchange, msg string) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, ex.requestID())
	return append(b, "}\n"...)
}

var jsonContentType = []byte("Content-Type: application/json\r\n")

// respondFiltered answers with a filter's Respond verdict: what it gave
// Exchange.Reply, or the JSON error of Exchange.Reject. A reply status
// that is not final is the filter's bug: the client gets a 500, not a
// response it would wait past. Loop only.
func (ex *exchange) respondFiltered(mustClose bool) {
	x := &ex.fx
	headers, body, ok := x.LocalReply()
	switch {
	case !ok:
		ex.respondError(x.Status, x.Message, nil, mustClose)
	case x.Status < 200 || x.Status > 599:
		ex.fail(errInternal, nil, mustClose)
	default:
		ex.respondLocal(x.Status, headers, body, nil, mustClose)
	}
}

// respondLocal writes a whole response of the gateway's own (an error or a
// filter's reply) and ends the exchange; see respondError for mustClose.
// Loop only.
func (ex *exchange) respondLocal(status int, headers, body, allow []byte, mustClose bool) {
	cl := ex.cl
	lp := cl.lp
	owned := cl.ex == ex // false for a parse error answered before any exchange began
	if cl.closed || cl.detached {
		if owned && cl.closed {
			cl.ex = nil
			lp.release(ex)
		}
		return
	}
	if owned && ex.ranTo > 0 {
		// The filters that saw the request see the answer (response.go);
		// once, whichever way the exchange ends.
		ex.chain.ResponseHead(&ex.fx, ex.ranTo, status, nil, true)
		ex.ranTo = 0
	}
	keepAlive := ex.keepAlive && !mustClose && !lp.e.draining.Load()
	ex.fx.Status = status
	lp.out = appendLocalResponse(lp.out[:0], ex, status, headers, body, allow, keepAlive)
	ex.wrote = true
	ex.bytesOut += int64(len(lp.out))
	_, _ = cl.c.Write(lp.out)
	if !owned {
		cl.closeAfterFlush()
		return
	}
	lp.release(ex)
	cl.finished(keepAlive)
}

// appendLocalResponse writes a whole local response to b: our status line,
// Date, headers, the Content-Length we vouch for, the request ID, the
// connection header, and the body unless the status or a HEAD forbids one
// (the one body guard for local answers; RFC 9110 §6.4.1).
func appendLocalResponse(b []byte, ex *exchange, status int, headers, body, allow []byte, keepAlive bool) []byte {
	b = http1.AppendStatusLine(b, 1, status)
	b = append(b, "Date: "...)
	b = append(b, dates.Get(time.Unix(0, ex.cl.lp.e.clock()))...)
	b = append(b, "\r\n"...)
	b = ex.fx.AppendLinesExcept(b, headers)
	if status != 204 && status != 304 {
		// HEAD's Content-Length describes the body a GET would get; a 204
		// must not carry one, and a 304's would describe a representation
		// we do not have (RFC 9110 §8.6).
		b = appendContentLength(b, int64(len(body)))
	}
	b = append(b, "X-Request-ID: "...)
	b = append(b, ex.requestID()...)
	b = append(b, "\r\n"...)
	b = append(b, ex.fx.ResponseHeaders()...)
	if len(allow) > 0 {
		b = append(b, "Allow: "...)
		b = append(b, allow...)
		b = append(b, "\r\n"...)
	}
	switch {
	case !keepAlive:
		b = append(b, "Connection: close\r\n"...)
	case ex.clientMinor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	if !ex.headReq && status != 204 && status != 304 {
		b = append(b, body...)
	}
	return b
}

// appendJSONString writes s as a JSON string literal.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
