package filter

import (
	"unicode/utf8"

	"github.com/sluicehq/sluice/observe"
)

// MaxDetail bounds the detail RejectDetail puts in a JSON error, in
// bytes: enough for a JSON pointer and a rule, short enough that a client
// cannot make the gateway echo its body back at length.
const MaxDetail = 200

var jsonContentType = []byte("Content-Type: application/json\r\n")

// RejectDetail answers as Reject does, with the gateway's JSON error, but
// with a detail after the message: {"error":"msg: detail","request_id":…}.
// msg labels sluice_middleware_rejections_total as Reject's does (a
// constant), while detail may vary per request (a failing field's path):
// it is escaped, and cut at MaxDetail bytes (on a character boundary,
// marked "…"). The document is built in the Exchange's own buffer, reused
// across requests, so only a longer detail than any before allocates.
// Request and RequestBody.
func (x *Exchange) RejectDetail(status int, msg string, detail []byte) Verdict {
	cut := len(detail) > MaxDetail
	if cut {
		n := MaxDetail
		for n > 0 && !utf8.RuneStart(detail[n]) {
			n--
		}
		detail = detail[:n]
	}
	b := append(x.detailBody[:0], `{"error":"`...)
	b = observe.AppendJSONEscaped(b, msg)
	b = append(b, ": "...)
	b = observe.AppendJSONEscaped(b, detail)
	if cut {
		b = append(b, "…"...)
	}
	b = append(b, `","request_id":"`...)
	b = observe.AppendJSONEscaped(b, x.RequestID)
	b = append(b, "\"}\n"...)
	x.detailBody = b
	x.Reply(status, jsonContentType, b)
	x.Message = msg // counted as a rejection (see counted)
	return Respond
}

// counted reports whether a Respond verdict is a rejection to count under
// its message: a Reject or RejectDetail, not a filter's own Reply.
func (x *Exchange) counted() bool { return !x.reply || x.Message != "" }
