package proxy

import (
	"time"

	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/upstream"
)

// pick asks the route's cluster for a target (balancer, breakers, health);
// avoid is the target a retry leaves. When every target is out it returns
// false, and the caller answers with noTarget. Loop only.
func (ex *exchange) pick(avoid *upstream.Target) bool {
	c := ex.route.Cluster
	t, wait := c.Select(ex.hashKey, avoid, ex.cl.lp.e.clock())
	if t == nil {
		ex.wait = wait
		return false
	}
	ex.target, ex.selected = t, true
	ex.attempts++
	ex.fx.Upstream = t.Addr
	return true
}

// noTarget answers 503 when every target is open or unhealthy, with
// Retry-After saying when the next one may be tried (DESIGN §5). Loop only.
func (ex *exchange) noTarget() {
	// Whole seconds, rounded up, but not for the breaker's sub-millisecond
	// rounding of its reopen time: recovery_timeout 10s says 10, not 11.
	ex.fx.AddResponseHeaderInt("Retry-After", max(int64((ex.wait+time.Second-time.Millisecond)/time.Second), 1))
	ex.fail(errNoHealthyTarget, nil, !ex.reqDone)
}

// report tells the cluster how the current try went, once per pick:
// breakers, passive health and least-request counts depend on it.
// Loop only.
func (ex *exchange) report(r upstream.Result) {
	if !ex.selected {
		return
	}
	ex.selected = false
	ex.route.Cluster.Done(ex.target, r, ex.cl.lp.e.clock())
}

// reportStatus reports a response head: a failure status (502/503/504 by
// default) counts against the target.
func (ex *exchange) reportStatus(status int) {
	if ex.route.Cluster.IsFailureStatus(status) {
		ex.report(upstream.Failure)
	} else {
		ex.report(upstream.Success)
	}
}

// canRetry reports whether a failed try may go again, to another target if
// there is one: the client has seen nothing, the cluster retries this
// cause, attempts and the retry budget allow it, and the request can be
// replayed — a connect failure sent nothing, so any request replays; after
// a timeout or a 502/503 only an idempotent request without a body does
// (bodies are streamed, not kept). Loop only.
func (ex *exchange) canRetry(cause upstream.RetryCause) bool {
	cl, c := ex.cl, ex.route.Cluster
	if ex.wrote || cl.closed || cl.detached || ex.stream != nil {
		return false
	}
	if cause == upstream.RetryConnectFailure {
		if ex.reqBody > 0 || ex.headOnWire {
			return false
		}
	} else if !ex.idempotent || ex.reqFraming != http1.FramingNone {
		return false
	}
	return ex.attempts < c.Retry.Attempts && c.RetryOn(cause) && c.AllowRetry(cl.lp.e.clock())
}

// retry sends the request again, to another target when one is available.
// The failed try must already be reported and its connection let go.
// Loop only.
func (ex *exchange) retry() {
	failed := ex.target
	if !ex.pick(failed) {
		ex.noTarget()
		return
	}
	if ex.target != failed && !ex.route.PreserveHost && ex.fx.UpstreamHost() == nil {
		ex.rehost()
	}
	ex.gotByte = false
	ex.resp.Reset()
	ex.connect()
}

// rehost rewrites the Host header of the kept upstream head for the newly
// picked target. Loop only.
func (ex *exchange) rehost() {
	b := ex.head.B
	host := ex.target.Host
	if ex.hostEnd-ex.hostAt == len(host) {
		copy(b[ex.hostAt:], host)
		return
	}
	nb := make([]byte, 0, len(b)-(ex.hostEnd-ex.hostAt)+len(host))
	nb = append(append(append(nb, b[:ex.hostAt]...), host...), b[ex.hostEnd:]...)
	ex.head.B = nb
	ex.hostEnd = ex.hostAt + len(host)
}

// balanceKey computes the consistent-hash key the cluster asks for.
// Loop only.
func (ex *exchange) balanceKey(req *http1.Request) uint64 {
	h := ex.route.Cluster.HashOn
	switch h.Kind {
	case upstream.HashHeader:
		if v := req.Header(h.Name); len(v) > 0 {
			return upstream.HashKey(v)
		}
	case upstream.HashCookie:
		if v, _ := req.Cookie(h.Name); len(v) > 0 {
			return upstream.HashKey(v)
		}
	case upstream.HashIP:
		return upstream.HashAddr(ex.fx.ClientIP)
	}
	return 0 // no key: the cluster spreads such requests at random
}
