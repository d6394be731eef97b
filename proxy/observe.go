package proxy

import (
	"time"

	"github.com/sluicehq/sluice/observe"
)

// epoch anchors the monotonic clock the engine times requests with:
// nanotime is time since epoch, immune to wall-clock steps.
var (
	epoch     = time.Now()
	epochWall = epoch.UnixNano()
)

func nanotime() int64 { return int64(time.Since(epoch)) }

// observe records a finished exchange in the route's metrics and the access
// log: what the client got, how long the whole request, the upstream's part
// (request handed over to response head) and the gateway's own part
// (request head parsed to handed over) took. Called from release. Loop only.
func (ex *exchange) observe() {
	if ex.tStart == 0 {
		return // never began (a parse error answered without an exchange)
	}
	status := ex.fx.Status
	if !ex.wrote {
		status = 0
	}
	end := nanotime()
	total := time.Duration(end - ex.tStart)
	var upstream, overhead time.Duration
	switch {
	case ex.tSent == 0:
		overhead = total // answered by the gateway itself
	case ex.tHead == 0:
		overhead = time.Duration(ex.tSent - ex.tStart)
	default:
		upstream = time.Duration(ex.tHead - ex.tSent)
		overhead = time.Duration(ex.tSent - ex.tStart)
	}
	method := ex.method[:ex.methodLen]
	in := ex.bytesIn + ex.reqBody
	switch {
	case ex.route == nil:
		observe.Unrouted(status)
	case ex.route.Metrics != nil:
		ex.route.Metrics.Request(method, status, total, upstream, overhead, in, ex.bytesOut)
	}
	log := ex.snap.AccessLog
	if log == nil {
		return
	}
	r := observe.Record{
		Start:     epochWall + ex.tStart,
		RequestID: ex.requestID(),
		ClientIP:  ex.fx.ClientIP,
		Method:    method,
		Path:      ex.logPath,
		Query:     ex.logQuery,
		Minor:     ex.clientMinor,
		Status:    status,
		BytesIn:   in,
		BytesOut:  ex.bytesOut,
		Total:     total,
		Upstream:  upstream,
		Consumer:  ex.fx.Consumer,
		User:      ex.fx.Subject,
	}
	if !ex.hasQuery {
		r.Query = nil
	}
	if ex.route != nil {
		r.Route = ex.route.Name
	}
	if ex.target != nil {
		r.Target = ex.target.Addr
	}
	log.Log(&r)
}

// logRefused writes the access-log line of a request refused before it had
// an exchange (400, 408, 414, 431, …): route and target empty, method and
// path as far as the parser got (nil when it did not, and always for a
// header timeout, whose request never finished), duration 0. in is the
// bytes the client had sent. Loop only; no allocation.
func (cl *client) logRefused(ex *exchange, method, path, query []byte, in int64) {
	log := cl.lp.e.Snapshot().AccessLog
	if log == nil {
		return
	}
	r := observe.Record{
		Start:     epochWall + nanotime(),
		RequestID: ex.requestID(),
		ClientIP:  cl.addr,
		Method:    method,
		Path:      path,
		Minor:     ex.clientMinor,
		Status:    ex.fx.Status,
		BytesIn:   in,
		BytesOut:  ex.bytesOut,
	}
	if query != nil {
		cl.lp.logQuery = observe.AppendLogQuery(cl.lp.logQuery[:0], query)
		r.Query = cl.lp.logQuery
	}
	log.Log(&r)
}
