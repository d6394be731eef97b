// Package cors is the `type: cors` middleware: Cross-Origin Resource
// Sharing as the Fetch standard defines it, decided at the edge.
//
//	middleware:
//	  edge_cors: {type: cors, allow_origins: ["https://app.example.com", "https://*.example.com"],
//	              allow_methods: [GET, PUT], allow_headers: [X-Custom], allow_credentials: true, max_age: 10m}
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered here, 204 with the policy or 403 with the JSON error, and never
// reaches the upstream. Any other request goes on; its response, proxied
// or the gateway's own (a later filter's 401, a 502), gets the CORS headers
// for an allowed origin, none for another, and Vary: Origin whenever the
// answer depends on the origin. The upstream's own Access-Control-*
// headers are dropped, so the gateway's policy is the only one a browser
// sees.
//
// List it first in a route's middleware: a preflight carries no
// credentials, so an authentication filter before it would refuse it, and
// a filter before it that rejects answers without CORS headers, which the
// browser then hides from the page.
package cors

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func init() {
	filter.Register(filter.Type{Name: "cors", Decode: decode, Build: build})
}

// The response headers of the Fetch standard's CORS protocol.
const (
	hAllowOrigin         = "Access-Control-Allow-Origin"
	hAllowCredentials    = "Access-Control-Allow-Credentials"
	hAllowMethods        = "Access-Control-Allow-Methods"
	hAllowHeaders        = "Access-Control-Allow-Headers"
	hExposeHeaders       = "Access-Control-Expose-Headers"
	hMaxAge              = "Access-Control-Max-Age"
	hAllowPrivateNetwork = "Access-Control-Allow-Private-Network"
)

// policyHeaders are the ones stripped from upstream responses.
var policyHeaders = [...]string{hAllowOrigin, hAllowCredentials, hAllowMethods, hAllowHeaders, hExposeHeaders, hMaxAge, hAllowPrivateNetwork}

// Rejection messages (constants: they label the rejection metric).
const (
	msgOrigin = "CORS origin not allowed"
	msgMethod = "CORS method not allowed"
	msgHeader = "CORS request header not allowed"
)

// safelistedHeaders may always be asked for: the request headers Fetch
// lets through without a preflight when their values are plain, which a
// browser still lists when they are not (Content-Type: application/json).
var safelistedHeaders = []string{"Accept", "Accept-Language", "Content-Language", "Content-Type"}

var (
	star      = []byte("*")
	trueValue = []byte("true")
	originTok = []byte("Origin")
)

// Filter is a built cors instance. It is immutable, so every loop may use
// it at once.
type Filter struct {
	origins     *origins
	wildcard    bool // "*" without credentials: the same answer for every origin, no Vary
	credentials bool
	anyMethod   bool     // allow_methods "*": echo the requested method
	methods     []string // allowed methods, safelisted ones included
	anyHeader   bool     // allow_headers "*": echo the requested headers
	headers     []string // allowed request headers, safelisted ones included
	expose      []byte   // Access-Control-Expose-Headers value; nil: none
	privateNet  bool
	preflight   []byte // the static header lines of every preflight's 204
}

// Slot.N of a request from an allowed origin: allowed, plus the index of
// the exact origin (values) it equals, or echoed when Slot.V holds its
// bytes.
const (
	allowed uint64 = 1 << 32
	echoed  uint64 = 1 << 33
)

// originBufs hold a pattern-matched origin from Request to ResponseHead
// (the request's bytes are gone by then); Finish returns them.
var originBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	o, errs := compileOrigins(s.AllowOrigins)
	if len(errs) > 0 {
		return nil, errs[0] // decode refused these already
	}
	f := &Filter{
		origins:     o,
		wildcard:    o.any && !s.AllowCredentials,
		credentials: s.AllowCredentials,
		anyMethod:   hasStar(s.AllowMethods),
		anyHeader:   hasStar(s.AllowHeaders),
		privateNet:  s.AllowPrivateNetwork,
	}
	f.methods = union([]string{"GET", "HEAD", "POST"}, s.AllowMethods, false)
	f.headers = union(safelistedHeaders, s.AllowHeaders, true)
	if len(s.ExposeHeaders) > 0 {
		f.expose = []byte(join(s.ExposeHeaders))
	}
	maxAge := defaultMaxAge
	if s.MaxAge != nil {
		maxAge = s.MaxAge.D()
	}

	b := f.preflight
	if f.wildcard {
		b = filter.AppendHeader(b, hAllowOrigin, star)
	} else {
		b = filter.AppendHeader(b, "Vary", originTok)
	}
	if f.credentials {
		b = filter.AppendHeader(b, hAllowCredentials, trueValue)
	}
	if !f.anyMethod {
		b = filter.AppendHeader(b, hAllowMethods, []byte(join(f.methods)))
	}
	if !f.anyHeader {
		b = filter.AppendHeader(b, hAllowHeaders, []byte(join(f.headers)))
	}
	f.preflight = filter.AppendHeader(b, hMaxAge, strconv.AppendInt(nil, int64(maxAge.Seconds()), 10))
	return f, nil
}

var (
	_ filter.ResponseHeadFilter = (*Filter)(nil)
	_ filter.Finisher           = (*Filter)(nil)
)

// Request answers preflights and notes whether an actual request's origin
// is allowed. Any loop; no allocation.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	o := x.Req.Header("Origin")
	if o == nil {
		return filter.Continue // not a CORS request; ResponseHead still says Vary
	}
	at := f.origins.match(o)
	if method := x.Req.Header("Access-Control-Request-Method"); method != nil && string(x.Method) == "OPTIONS" {
		return f.answerPreflight(x, o, at, method)
	}
	if at == noMatch || f.wildcard {
		return filter.Continue
	}
	st := x.State()
	if at >= 0 {
		st.N = allowed | uint64(at)
		return filter.Continue
	}
	buf := originBufs.Get().(*[]byte)
	*buf = append((*buf)[:0], o...)
	st.N, st.V = allowed|echoed, buf
	return filter.Continue
}

// answerPreflight answers a preflight: 204 with the policy when the origin,
// the method and every requested header are allowed, else 403 with no CORS
// header (the browser then fails the request it was asking about).
func (f *Filter) answerPreflight(x *filter.Exchange, o []byte, at int, method []byte) filter.Verdict {
	if at == noMatch {
		return x.Reject(403, msgOrigin)
	}
	if !http1.IsToken(method) || !f.anyMethod && !contains(f.methods, method, false) {
		return x.Reject(403, msgMethod)
	}
	var asked []byte // the first Access-Control-Request-Headers, echoed for "*"
	for i := range x.Req.Headers {
		h := &x.Req.Headers[i]
		if !http1.EqualFold(h.Name, "Access-Control-Request-Headers") {
			continue
		}
		if asked == nil {
			asked = h.Value
		}
		if f.anyHeader {
			continue
		}
		for name, rest := http1.NextToken(h.Value); name != nil; name, rest = http1.NextToken(rest) {
			if !contains(f.headers, name, true) {
				return x.Reject(403, msgHeader)
			}
		}
	}
	if !f.wildcard {
		x.AddResponseHeader(hAllowOrigin, o)
	}
	if f.anyMethod {
		x.AddResponseHeader(hAllowMethods, method)
	}
	if f.anyHeader && len(asked) > 0 {
		x.AddResponseHeader(hAllowHeaders, asked)
	}
	if f.privateNet && http1.EqualFold(x.Req.Header("Access-Control-Request-Private-Network"), "true") {
		x.AddResponseHeader(hAllowPrivateNetwork, trueValue)
	}
	return x.Reply(204, f.preflight, nil)
}

// ResponseHead drops the upstream's CORS headers and writes the policy's:
// on every response for "*" without credentials; else Vary: Origin always,
// and the origin's grant when Request allowed it. Any loop; no allocation.
func (f *Filter) ResponseHead(x *filter.Exchange, r *filter.Response) filter.Verdict {
	if !r.Local {
		stripUpstream(r)
	}
	var o []byte
	switch st := x.State(); {
	case f.wildcard:
		o = star
	case st.N&echoed != 0:
		o = *st.V.(*[]byte)
	case st.N&allowed != 0:
		o = f.origins.values[uint32(st.N)]
	}
	if !f.wildcard && !varies(r) {
		r.Add("Vary", originTok)
	}
	if o == nil {
		return filter.Continue
	}
	r.Add(hAllowOrigin, o)
	if f.credentials {
		r.Add(hAllowCredentials, trueValue)
	}
	if f.expose != nil {
		r.Add(hExposeHeaders, f.expose)
	}
	return filter.Continue
}

// Finish returns the pooled origin buffer. Any loop.
func (f *Filter) Finish(x *filter.Exchange) {
	if st := x.State(); st.N&echoed != 0 {
		originBufs.Put(st.V)
		st.N, st.V = 0, nil
	}
}

// stripUpstream removes the upstream's Access-Control-* response headers.
func stripUpstream(r *filter.Response) {
	const prefix = "Access-Control-"
	for i := range r.Headers {
		name := r.Headers[i].Name
		if len(name) <= len(prefix) || !http1.EqualFold(name[:len(prefix)], prefix) {
			continue
		}
		for _, p := range policyHeaders {
			if http1.EqualFold(name, p) {
				r.Remove(p)
				break
			}
		}
	}
}

// varies reports whether the upstream's Vary already covers Origin.
func varies(r *filter.Response) bool {
	for i := range r.Headers {
		if !http1.EqualFold(r.Headers[i].Name, "Vary") {
			continue
		}
		for tok, rest := http1.NextToken(r.Headers[i].Value); tok != nil; tok, rest = http1.NextToken(rest) {
			if string(tok) == "*" || http1.EqualFold(tok, "Origin") {
				return true
			}
		}
	}
	return false
}

// contains reports whether list holds name (folding case when fold:
// header names; methods are case-sensitive).
func contains(list []string, name []byte, fold bool) bool {
	for _, s := range list {
		if fold && http1.EqualFold(name, s) || !fold && string(name) == s {
			return true
		}
	}
	return false
}

// union is base followed by the entries of extra it lacks ("*" skipped).
func union(base, extra []string, fold bool) []string {
	out := append([]string(nil), base...)
	for _, s := range extra {
		if s != "*" && !contains(out, []byte(s), fold) {
			out = append(out, s)
		}
	}
	return out
}

func join(list []string) string { return strings.Join(list, ", ") }
