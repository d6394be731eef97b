package proxy

import (
	"net/netip"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sluicehq/sluice/http1"
)

// parkTimeout bounds how long a filter may hold a request parked when it
// named no timeout of its own; past it the client gets a 503 rather than
// waiting on a resume that may never come.
const parkTimeout = 10 * time.Second

// parkMessage is the 503's message when the parking filter named none.
const parkMessage = "middleware did not finish in time"

// startFilters fills in what the route's filters see of the request.
// Loop only.
func (ex *exchange) startFilters(req *http1.Request, norm []byte) {
	x := &ex.fx
	ip := x.ClientIP // set by begin for every request
	x.Reset(ex)
	x.ClientIP = ip
	x.Req = req
	x.Method = req.Method
	x.Path = norm
	x.Params = &ex.cl.lp.params
	x.Route = ex.route.Name
	x.SetStripPrefix(ex.route.StripPrefix)
	x.Now = epochWall + ex.tStart // precise: limiters and audit lines want it
	x.RequestID = ex.requestID()
}

// keepForFinish copies the request's method and path out of the loop's
// buffers when a filter wants them in Finish or ResponseHead (they die with this
// callback), and drops the other request views. Loop only.
func (ex *exchange) keepForFinish() {
	x := &ex.fx
	x.Req, x.Params = nil, nil
	if !ex.chain.HasFinishers() && !ex.chain.HasResponders() {
		x.Method, x.Path = nil, nil
		return
	}
	ex.keep = append(append(ex.keep[:0], x.Method...), x.Path...)
	x.Method, x.Path = ex.keep[:len(x.Method)], ex.keep[len(x.Method):]
}

// finish tells the chain how the request ended: the status the client got,
// or 499 (nginx's "client closed request") when it got nothing. Loop only.
func (ex *exchange) finish() {
	if ex.fx.Status == 0 || !ex.wrote {
		ex.fx.Status = 499
	}
	ex.chain.Finish(&ex.fx)
}

// Park implements filter.Parker: the request waits, head unread, until the
// returned function resumes it on this loop, or until timeout, when the
// client gets a 503 with msg. Any goroutine may call the returned
// function; only the first call counts, and a call after the client left
// (the exchange was recycled) does nothing. Loop only (Park itself).
func (ex *exchange) Park(timeout time.Duration, msg string) func() {
	ex.parkFor, ex.parkMsg = timeout, msg
	lp, gen := ex.cl.lp, ex.gen
	var once atomic.Bool
	return func() {
		if once.Swap(true) {
			return
		}
		_ = lp.loop.Execute(func() { ex.resume(gen) })
	}
}

// park suspends the chain at filter at. Loop only.
func (ex *exchange) park(at int) {
	ex.paused, ex.chainAt = true, at
	d := ex.parkFor
	if d <= 0 {
		d = parkTimeout
	}
	ex.deadline = ex.cl.lp.e.clock() + int64(d)
	ex.keepForFinish() // the request's views die with this callback
}

// resume re-reads the parked request's head (still first in the client's
// buffer, so it parses and routes as before, on the snapshot it started
// with) and runs the chain on from where it paused. Loop only.
func (ex *exchange) resume(gen uint32) {
	cl := ex.cl
	if ex.gen != gen || !ex.paused || cl == nil || cl.closed || cl.ex != ex {
		return
	}
	ex.paused = false
	lp := cl.lp
	n, ok := ex.reread()
	if !ok {
		return
	}
	if ex.bodyPark {
		ex.forward(n) // the body phase paused: on with it (bodyfilter.go)
		return
	}
	req, norm := &lp.req, lp.norm
	lp.params.Reset()
	ex.snap.Router.Match(req.Host, req.Method, norm, req, &lp.params)
	x := &ex.fx
	x.Req, x.Method, x.Path, x.Params = req, req.Method, norm, &lp.params
	ex.dispatch(n, ex.chainAt)
}

// reread parses the head of a parked request again into the loop's scratch
// (request views and normalised path) and returns its length. The bytes
// parsed before, so a failure is ours: it answers 500 and returns false.
// Loop only.
func (ex *exchange) reread() (int, bool) {
	lp := ex.cl.lp
	buf, _ := ex.cl.c.Peek(-1)
	req := &lp.req
	req.Reset()
	n, err := http1.ParseRequest(buf, req, &ex.snap.Limits)
	if err == nil {
		lp.norm, err = ex.snap.PathPolicy.Normalize(lp.norm[:0], req.Path)
	}
	if err != nil {
		ex.fail(errInternal, nil, true)
		return 0, false
	}
	return n, true
}

// cancelPark tells the filter that paused the request that it ended
// unresumed (filter.Canceler). Loop only.
func (ex *exchange) cancelPark() {
	if ex.paused {
		ex.paused = false
		ex.cancelCalls() // the filter's sub-requests first, as Canceler promises
		ex.chain.Cancel(&ex.fx, ex.chainAt)
	}
}

// sweepParked fails a request parked for too long. Loop only.
func (ex *exchange) sweepParked(now int64) {
	if now >= ex.deadline {
		ex.cancelPark()
		msg := ex.parkMsg
		if msg == "" {
			msg = parkMessage
		}
		ex.respondError(503, msg, nil, true) // the message is the filter's (Park): no fixed pair
	}
}

// clientIP is the address a request is attributed to: the peer, or, when
// the peer is a trusted proxy, the right-most X-Forwarded-For entry that is
// not itself a trusted proxy (the left part of the list is the client's to
// forge). Loop only.
func (cl *client) clientIP(trusted []netip.Prefix, req *http1.Request) netip.Addr {
	if len(trusted) == 0 || !inPrefixes(trusted, cl.addr) {
		return cl.addr
	}
	for i := len(req.Headers) - 1; i >= 0; i-- {
		h := &req.Headers[i]
		if !http1.EqualFold(h.Name, "X-Forwarded-For") {
			continue
		}
		list := h.Value
		for len(list) > 0 {
			j := len(list) - 1
			for j >= 0 && list[j] != ',' {
				j--
			}
			entry := trimOWS(list[j+1:])
			list = list[:max(j, 0)]
			a, ok := parseAddr(entry)
			if !ok {
				return cl.addr // garbage in the chain: trust nothing past it
			}
			if !inPrefixes(trusted, a) {
				return a
			}
		}
	}
	return cl.addr
}

// parseAddr parses an IP address without copying b. A zone, which would
// point into b, is dropped.
func parseAddr(b []byte) (netip.Addr, bool) {
	if len(b) == 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(unsafe.String(&b[0], len(b)))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
