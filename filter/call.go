package filter

import (
	"errors"
	"time"

	"github.com/sluicehq/sluice/http1"
)

// Sub-requests: a filter asks a cluster something from the loop, with no
// goroutine per call, and the request resumes when the answers are in.
//
//	func (f *fanout) Request(x *filter.Exchange) filter.Verdict {
//		s := x.State()
//		if s.V == nil { // first run: start the calls, then wait
//			s.V = []*filter.Call{
//				x.Call("users", filter.CallRequest{Path: "/users/7"}, 64<<10),
//				x.Call("orders", filter.CallRequest{Path: "/orders?user=7"}, 64<<10),
//			}
//			return x.Await(2*time.Second, "lookups timed out")
//		}
//		calls := s.V.([]*filter.Call) // resumed: every call is Done
//		...
//	}
//
// A call goes through the cluster's balancer, breaker, keep-alive pool,
// timeouts and retries like any proxied request; a call the cluster cannot
// answer ends with the status a client would get (502, 503, 504) and the
// gateway's JSON error as its body. The client leaving cancels the calls
// still running.

// CallRequest is a sub-request. Only Path is required.
type CallRequest struct {
	Method string // "" is GET
	Path   string // origin form, query included: "/users/7?fields=name"
	Header []byte // header lines ("Name: value\r\n", see AppendHeader); no Host, no framing
	Body   []byte // sent with a Content-Length
}

// Call is a sub-request in flight, then its outcome. The proxy writes it on
// the request's loop, before the request resumes; the filter reads it once
// Done, in a later run of its own methods.
type Call struct {
	// Status is the response status, 0 when the call ended without one
	// (Err).
	Status int
	// Body is the response body (de-framed), at most the call's limit.
	Body []byte
	// Err says why a call has no response: ErrNoCluster, ErrCallTooLarge,
	// ErrCallCancelled, ErrCallCut, ErrNoCalls.
	Err error

	resp http1.Response
	done bool
}

// Errors a Call ends with when it has no response.
var (
	ErrNoCluster     = errors.New("call: no such cluster")
	ErrCallTooLarge  = errors.New("call: response larger than the limit")
	ErrCallCancelled = errors.New("call: cancelled: the request ended")
	ErrCallCut       = errors.New("call: response cut off")
	ErrNoCalls       = errors.New("call: this exchange cannot make calls")
)

// Done reports whether the call has ended.
func (c *Call) Done() bool { return c.done }

// Header returns the first value of the response header name, nil when
// absent or the call has no response.
func (c *Call) Header(name string) []byte { return c.resp.Header(name) }

// Headers returns the response's header fields, in order.
func (c *Call) Headers() []http1.Header { return c.resp.Headers }

// Complete ends the call with the response in raw (an HTTP/1.x response
// whose body is length-delimited or runs to the end of raw; nil with err),
// or ErrCallTooLarge when its body is longer than limit. raw is the
// call's from then on. Proxy only; once.
func (c *Call) Complete(raw []byte, limit int, err error) {
	if c.done {
		return
	}
	c.done = true
	if err != nil {
		c.Err = err
		return
	}
	n, perr := http1.ParseResponse(raw, &c.resp, 0)
	if perr != nil {
		c.Err = ErrCallCut
		return
	}
	c.Status = c.resp.Status
	c.Body = raw[n:]
	if cl := c.resp.ContentLength; cl >= 0 && int64(len(c.Body)) > cl {
		c.Body = c.Body[:cl]
	} else if cl >= 0 && int64(len(c.Body)) < cl {
		c.Err, c.Status, c.Body = ErrCallCut, 0, nil
	}
	if len(c.Body) > limit {
		c.Err, c.Status, c.Body = ErrCallTooLarge, 0, nil
	}
}

// Caller sends the sub-requests of a request; the proxy implements it
// beside Parker.
type Caller interface {
	// Call starts r to cluster (a name of the snapshot the request runs
	// on) and ends c when the response, its body at most limit bytes, is
	// in. Loop only.
	Call(cluster string, r *CallRequest, limit int, c *Call)
	// Await parks the request until every call it started is done; see
	// Exchange.Await. Loop only.
	Await(timeout time.Duration, msg string)
}

// Call starts a sub-request to cluster (see the top of this file) and
// returns its handle at once; keep it (State) and Await. The response
// body is read up to limit bytes: a longer one ends the call with
// ErrCallTooLarge. Only inside a filter's Request.
func (x *Exchange) Call(cluster string, r CallRequest, limit int) *Call {
	c := &Call{}
	caller, ok := x.parker.(Caller)
	if !ok {
		c.Complete(nil, 0, ErrNoCalls)
		return c
	}
	caller.Call(cluster, &r, limit, c)
	return c
}

// Await suspends the request until every Call it started is Done, and
// returns the Pause verdict to give: Request runs again, from this filter,
// on the request's loop. Past timeout (0: the gateway's default, 10 s) the
// client gets a 503 with msg, as for Park, and the calls still running are
// cancelled.
func (x *Exchange) Await(timeout time.Duration, msg string) Verdict {
	if caller, ok := x.parker.(Caller); ok {
		caller.Await(timeout, msg)
	}
	return Pause
}
