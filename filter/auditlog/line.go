package auditlog

import (
	"strconv"

	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/observe"
)

// appendLine appends x's audit record as one JSON object (no newline):
//
//	{"time":"…","request_id":"…","route":"…","method":"…","path":"…","status":200,
//	 "user":"…","consumer":"…","client_ip":"…","upstream":"…"}
//
// time is the request's start (at, unix nanoseconds) in UTC RFC 3339 with
// microseconds; user is the JWT subject and consumer the API-key consumer,
// "" when unset, like upstream when no target was reached and client_ip
// when unknown. The key order is fixed so that lines diff and grep well.
func appendLine(b []byte, x *filter.Exchange, at int64) []byte {
	b = append(b, `{"time":"`...)
	b = observe.AppendISOTime(b, at)
	b = append(b, `","request_id":"`...)
	b = observe.AppendJSONEscaped(b, x.RequestID)
	b = append(b, `","route":"`...)
	b = observe.AppendJSONEscaped(b, x.Route)
	b = append(b, `","method":"`...)
	b = observe.AppendJSONEscaped(b, x.Method)
	b = append(b, `","path":"`...)
	b = observe.AppendJSONEscaped(b, x.Path)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(x.Status), 10)
	b = append(b, `,"user":"`...)
	b = observe.AppendJSONEscaped(b, x.Subject)
	b = append(b, `","consumer":"`...)
	b = observe.AppendJSONEscaped(b, x.Consumer)
	b = append(b, `","client_ip":"`...)
	if x.ClientIP.IsValid() {
		b = x.ClientIP.Unmap().AppendTo(b)
	}
	b = append(b, `","upstream":"`...)
	b = observe.AppendJSONEscaped(b, x.Upstream)
	return append(b, `"}`...)
}
