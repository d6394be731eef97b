package filter

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// Chain is a route's compiled middleware, in the route's order. It is
// immutable and shared by every loop.
type Chain struct {
	filters    []Filter
	finishers  []finisher
	responders []responder // in route order
	labels     []label     // per filter, for the rejection metric
}

// finisher is a Finisher and its index in the chain.
type finisher struct {
	f  Finisher
	at int
}

// responder is a ResponseHeadFilter and its index in the chain.
type responder struct {
	f  ResponseHeadFilter
	at int
}

// label names a filter in metrics and counts its rejections by reason.
type label struct {
	route     string // the route whose chain this is ("" when unnamed)
	name, typ string
	reasons   atomic.Pointer[[]reason] // copy-on-write: rejections are read far more than new reasons appear
}

type reason struct {
	status int
	msg    string
	n      *metrics.Counter
}

// NewChain builds a chain; nil filters are skipped.
func NewChain(fs ...Filter) *Chain {
	c := &Chain{}
	for _, f := range fs {
		if f == nil {
			continue
		}
		c.filters = append(c.filters, f)
		c.labels = append(c.labels, label{name: "unnamed", typ: "unknown"})
		if fin, ok := f.(Finisher); ok {
			c.finishers = append(c.finishers, finisher{f: fin, at: len(c.filters) - 1})
		}
		if r, ok := f.(ResponseHeadFilter); ok {
			c.responders = append(c.responders, responder{f: r, at: len(c.filters) - 1})
		}
	}
	return c
}

// Len is the number of filters.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.filters)
}

// Run runs the filters from index from on. It returns the verdict and the
// index of the filter that gave it (Len() when every filter continued); a
// paused request resumes with Run(x, at). Once the chain has decided
// (Continue or Respond), the rate-limit headers are added to the response.
// Any loop.
func (c *Chain) Run(x *Exchange, from int) (v Verdict, at int) {
	if c == nil {
		return Continue, 0
	}
	for at = from; at < len(c.filters); at++ {
		x.cur = at
		if v = c.filters[at].Request(x); v != Continue {
			break
		}
	}
	if v == Respond && x.counted() { // a Reply is an answer, not a rejection
		c.labels[at].count(x.Status, x.Message)
	}
	if v != Pause {
		x.appendRateLimitHeaders()
	}
	return v, at
}

// ResponseHead runs the response phase (see ResponseHeadFilter) in reverse
// route order over the filters before index upto, the ones whose Request
// ran to Continue. headers are an upstream's (nil and local true for the
// gateway's own answer). On an upstream's response a filter may replace
// it: the verdict is then Respond and at is that filter, so the local
// answer runs the phase again over the filters before at. Any loop.
func (c *Chain) ResponseHead(x *Exchange, upto int, status int, headers []http1.Header, local bool) (v Verdict, at int) {
	if c == nil {
		return Continue, 0
	}
	r := &x.resp
	*r = Response{Status: status, Local: local, Headers: headers, x: x}
	defer func() { r.Headers = nil }() // the views die with the caller's callback
	for i := len(c.responders) - 1; i >= 0; i-- {
		rf := c.responders[i]
		if rf.at >= upto {
			continue
		}
		x.cur = rf.at
		if v = rf.f.ResponseHead(x, r); v == Respond && !local {
			if x.counted() {
				c.labels[rf.at].count(x.Status, x.Message)
			}
			x.dropBodyPhase()
			return Respond, rf.at
		}
	}
	return Continue, 0
}

// HasResponders reports whether a filter has a response phase, so the
// engine skips it, and keeps no request copies for it, when none has.
func (c *Chain) HasResponders() bool { return c != nil && len(c.responders) > 0 }

// Label names filter i (its middleware instance and type) in the rejection
// metric. Call it while building the chain, before any request runs.
func (c *Chain) Label(i int, name, typ string) {
	c.labels[i].name, c.labels[i].typ = name, typ
}

// LabelRoute names the route the chain belongs to in the rejection
// metric, so rejections (rate limiting, say) are counted per route even
// when routes share a middleware instance. Call it while building the
// chain, before any request runs.
func (c *Chain) LabelRoute(route string) {
	for i := range c.labels {
		c.labels[i].route = route
	}
}

// count adds a rejection to sluice_middleware_rejections_total. Reasons
// are the filters' constant messages, so the set stays small; a new one
// allocates once, every later one is a scan and an atomic add.
func (l *label) count(status int, msg string) {
	if p := l.reasons.Load(); p != nil {
		for _, r := range *p {
			if r.status == status && r.msg == msg {
				r.n.Inc()
				return
			}
		}
	}
	n := metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_middleware_rejections_total{route=%q,middleware=%q,type=%q,status="%d",reason=%q}`, l.route, l.name, l.typ, status, msg))
	n.Inc()
	for {
		old := l.reasons.Load()
		var next []reason
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, reason{status: status, msg: msg, n: n})
		if l.reasons.CompareAndSwap(old, &next) {
			return
		}
	}
}

// Finish tells the chain's finishers how the request ended. Any loop.
func (c *Chain) Finish(x *Exchange) {
	if c == nil {
		return
	}
	for _, f := range c.finishers {
		x.cur = f.at
		f.f.Finish(x)
	}
}

// HasFinishers reports whether Finish does anything, so the engine can skip
// keeping per-request outcome state for chains that do not need it.
func (c *Chain) HasFinishers() bool { return c != nil && len(c.finishers) > 0 }

// appendRateLimitHeaders renders the most restrictive limit as the IETF
// draft's fields (draft-ietf-httpapi-ratelimit-headers: RateLimit-Limit,
// -Remaining, -Reset in seconds) and the widespread X-RateLimit-* twins.
func (x *Exchange) appendRateLimitHeaders() {
	r := &x.RateLimit
	if !r.Set || !r.Headers {
		return
	}
	rem := max(r.Remaining, 0)
	x.AddResponseHeaderInt("RateLimit-Limit", r.Limit)
	x.AddResponseHeaderInt("RateLimit-Remaining", rem)
	x.AddResponseHeaderInt("RateLimit-Reset", r.Reset)
	x.AddResponseHeaderInt("X-RateLimit-Limit", r.Limit)
	x.AddResponseHeaderInt("X-RateLimit-Remaining", rem)
	x.AddResponseHeaderInt("X-RateLimit-Reset", r.Reset)
}

// Type is one kind of middleware (`type: jwt`, `type: rate_limit`, ...).
type Type struct {
	// Name is the value of `type:` in the config.
	Name string
	// Decode strictly checks an instance's settings and stores them in
	// m.Settings (see config.MiddlewareDecoder). No I/O.
	Decode config.MiddlewareDecoder
	// Build makes the filter from a decoded instance. It may read files
	// (keys, secrets) and start goroutines (a Closer must then stop them);
	// it runs on every load and reload, off the loops.
	Build func(m *config.Middleware) (Filter, error)
}

var types = struct {
	sync.RWMutex
	m map[string]Type
}{m: map[string]Type{}}

// Register makes a middleware type available to configs. Filter packages
// call it from init.
func Register(t Type) {
	if t.Build == nil {
		panic("filter: Register needs Build")
	}
	config.RegisterMiddlewareType(t.Name, t.Decode)
	types.Lock()
	defer types.Unlock()
	types.m[t.Name] = t
}

// ErrUnknownType is returned by Build for a type nobody registered.
var ErrUnknownType = errors.New("unknown middleware type")

// Build compiles a decoded middleware instance into its filter. A Build
// error is placed at the instance, or at its key when the type's Build
// returns m.Errorf's *config.Error.
func Build(m *config.Middleware) (Filter, error) {
	types.RLock()
	t, ok := types.m[m.Type]
	types.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s: middleware.%s: %w %q", m.Pos, m.Name, ErrUnknownType, m.Type)
	}
	f, err := t.Build(m)
	var at *config.Error
	switch {
	case errors.As(err, &at):
		return nil, err // already placed at its key (m.Errorf)
	case err != nil:
		return nil, fmt.Errorf("%s: middleware.%s: %w", m.Pos, m.Name, err)
	}
	return f, nil
}
