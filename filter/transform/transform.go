// Package transform is the `type: transform` middleware: it edits the
// request sent upstream (headers set, added, removed and renamed, with
// values from templates; query parameters likewise; the path by prefix
// or regexp; the Host) and the response head the client gets.
//
//	middleware:
//	  shape: {type: transform,
//	          request:  {set_headers: {X-Tenant: "{claims.tenant}"}, remove_headers: [Cookie],
//	                     replace_prefix: {from: /api/v1, to: /v1}, host: internal.example},
//	          response: {set_headers: {X-Frame-Options: DENY}, remove_headers: [Server]}}
//
// Request edits are made in Request, through the Exchange's rewrite API
// (filter/rewrite.go), which the engine applies when it writes the
// upstream head; the route was matched before, so a rewritten path
// reaches the same route's upstream, never another route's middleware.
// Response edits are filter.ResponseEdits (response_headers' rules and
// code), run in the response phase.
// Everything is compiled at Build; a request allocates nothing, except
// one small slice for a regexp rewrite that matches.
package transform

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func init() {
	filter.Register(filter.Type{Name: "transform", Decode: decode, Build: build})
}

// Filter is a built transform instance with no response edits. It is
// immutable but for the log budget (atomic), so every loop may use it.
type Filter struct {
	remove   []string
	rename   []headerRename
	set, add []headerTemplate // sorted by name
	query    queryEdits
	prefix   *prefixRewrite
	regex    *regexRewrite
	host     []byte

	response     filter.ResponseEdits
	requestEdits bool     // any of the above but response
	claims       bool     // a template reads claims
	params       []string // the path parameters templates read

	name     string
	logAfter atomic.Int64 // unix nanoseconds before which no refusal is logged
}

// responding is a Filter with response edits: only it is a
// filter.ResponseHeadFilter, so a request-only transform costs the engine
// no response phase.
type responding struct{ *Filter }

var (
	_ filter.ResponseHeadFilter = responding{}
	_ filter.ClaimsChecker      = (*Filter)(nil)
	_ filter.ParamsReader       = (*Filter)(nil)
)

type headerTemplate struct {
	name  string
	value template
}

type headerRename struct{ from, to string }

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	f, errs := compile(m, s)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	f.name = m.Name
	if f.response.Empty() {
		return f, nil
	}
	return responding{f}, nil
}

// NeedsClaims implements filter.ClaimsChecker: a template that reads
// claims needs a jwt filter before it on the route, or it never has a
// value. Off the loops.
func (f *Filter) NeedsClaims() bool { return f.claims }

// PathParams implements filter.ParamsReader: a {params.NAME} the route
// does not declare fails the config. Off the loops.
func (f *Filter) PathParams() []string { return f.params }

// msgBadRewrite answers a rewrite whose result is not a valid path: a
// config mistake, so a 500, logged.
const msgBadRewrite = "path rewrite produced an invalid path"

// Request edits the request sent upstream. Any loop; no allocation (but
// a matching regexp rewrite's one).
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	if !f.requestEdits {
		return filter.Continue
	}
	for _, name := range f.remove {
		x.RemoveUpstreamHeader(name)
	}
	for i := range f.rename {
		f.rename[i].apply(x)
	}
	for i := range f.set {
		h := &f.set[i]
		x.RemoveUpstreamHeader(h.name)
		x.AppendUpstreamHeader(h.name, func(b []byte) ([]byte, bool) { return h.value.render(b, x, inHeader) })
	}
	for i := range f.add {
		h := &f.add[i]
		x.AppendUpstreamHeader(h.name, func(b []byte) ([]byte, bool) { return h.value.render(b, x, inHeader) })
	}
	if !f.query.empty() {
		f.query.apply(x)
	}
	if f.prefix != nil {
		if p, ok := f.prefix.apply(x.PathBuffer(), x.UpstreamPath()); ok {
			x.SetUpstreamPath(p) // valid: from and to were checked, the rest is the normalised path's
		}
	}
	if f.regex != nil {
		if p, ok := f.regex.apply(x.PathBuffer(), x.UpstreamPath()); ok {
			if !validPath(p) {
				f.refused(x, p)
				return x.Reject(500, msgBadRewrite)
			}
			x.SetUpstreamPath(p)
		}
	}
	if f.host != nil {
		x.SetUpstreamHost(f.host)
	}
	return filter.Continue
}

// ResponseHead applies the response edits. Any loop; no allocation.
func (f responding) ResponseHead(_ *filter.Exchange, r *filter.Response) filter.Verdict {
	f.response.Apply(r)
	return filter.Continue
}

// apply sends each client header called from upstream as to, with its
// value, unless the client made it hop-by-hop by naming it in Connection.
func (rn *headerRename) apply(x *filter.Exchange) {
	hs := x.Req.Headers
	for i := range hs {
		if !http1.EqualFold(hs[i].Name, rn.from) || inConnection(hs, rn.from) {
			continue
		}
		v := hs[i].Value
		x.AppendUpstreamHeader(rn.to, func(b []byte) ([]byte, bool) { return append(b, v...), true })
	}
	x.StripUpstream(rn.from)
}

// inConnection reports whether a Connection header lists name.
func inConnection(hs []http1.Header, name string) bool {
	for i := range hs {
		if http1.EqualFold(hs[i].Name, "Connection") && http1.HasToken(hs[i].Value, name) {
			return true
		}
	}
	return false
}

// refused logs a refused rewrite, at most one line a second per filter:
// the log is written on the loop. Any loop.
func (f *Filter) refused(x *filter.Exchange, path []byte) {
	now := x.Now
	if after := f.logAfter.Load(); now < after || !f.logAfter.CompareAndSwap(after, now+int64(time.Second)) {
		return
	}
	slog.Default().Log(context.Background(), slog.LevelError, "transform: path rewrite refused",
		"middleware", f.name, "route", x.Route, "path", string(x.Path), "rewritten", string(path),
		"request_id", string(x.RequestID))
}
