package engine

import (
	"strconv"
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
	keepAlive := ex.keepAlive && !mustClose && !lp.e.draining.Load()
	ex.fx.Status = status
	lp.out = appendErrorResponse(lp.out[:0], ex, status, msg, allow, keepAlive)
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

// appendErrorResponse writes a whole JSON error response to b.
func appendErrorResponse(b []byte, ex *exchange, status int, msg string, allow []byte, keepAlive bool) []byte {
	var body [256]byte
	bb := append(body[:0], `{"error":`...)
	bb = appendJSONString(bb, msg)
	bb = append(bb, `,"request_id":`...)
	bb = appendJSONString(bb, ex.requestID())
	bb = append(bb, "}\n"...)

	b = http1.AppendStatusLine(b, 1, status)
	b = append(b, "Date: "...)
	b = append(b, dates.Get(time.Unix(0, ex.cl.lp.e.clock()))...)
	b = append(b, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(bb)), 10)
	b = append(b, "\r\nX-Request-ID: "...)
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
	if !ex.headReq {
		b = append(b, bb...)
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
