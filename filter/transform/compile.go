package transform

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

// compile turns checked-or-not settings into a Filter, collecting every
// problem as an error at its key. Decode runs it for the errors, Build for
// the filter; it does no I/O.
func compile(m *config.Middleware, s *Settings) (*Filter, []error) {
	c := compiler{m: m}
	r := &s.Request
	f := &Filter{}
	f.remove = c.headerNames("request.remove_headers", r.RemoveHeaders)
	f.rename = c.headerRenames(r.RenameHeaders)
	f.set = c.headers("request.set_headers", r.SetHeaders)
	f.add = c.headers("request.add_headers", r.AddHeaders)
	c.headerConflicts(r)
	f.query = c.query(r)
	if p := r.ReplacePrefix; p != nil {
		c.prefix(p)
		pr := newPrefixRewrite(p.From, p.To)
		f.prefix = &pr
	}
	if rw := r.Rewrite; rw != nil {
		if rr, key, err := compileRewrite(rw.Regex, rw.To); err != nil {
			c.errorf("request.rewrite."+key, "%v", err)
		} else {
			f.regex = &rr
		}
	}
	if r.Host != "" {
		c.host(r.Host)
		f.host = []byte(r.Host)
	}
	resp := &s.Response
	c.errs = append(c.errs, filter.CheckResponseEdits(m, filter.ResponseEditKeys{Set: "response.set_headers", Add: "response.add_headers", Remove: "response.remove_headers"},
		resp.SetHeaders, resp.AddHeaders, resp.RemoveHeaders)...)
	f.response = filter.CompileResponseEdits(resp.SetHeaders, resp.AddHeaders, resp.RemoveHeaders)
	f.requestEdits = len(f.remove)+len(f.rename)+len(f.set)+len(f.add) > 0 || !f.query.empty() ||
		f.prefix != nil || f.regex != nil || f.host != nil
	if !f.requestEdits && f.response.Empty() && len(c.errs) == 0 {
		c.errs = append(c.errs, errors.New("nothing to do: give request or response edits"))
	}
	f.noteTemplates()
	return f, c.errs
}

// noteTemplates records what the request templates read: claims (for
// NeedsClaims) and path parameters (for PathParams).
func (f *Filter) noteTemplates() {
	var tpls []*template
	for _, hs := range [][]headerTemplate{f.set, f.add} {
		for i := range hs {
			tpls = append(tpls, &hs[i].value)
		}
	}
	for _, qs := range [][]queryEntry{f.query.set, f.query.add} {
		for i := range qs {
			tpls = append(tpls, &qs[i].value)
		}
	}
	for _, t := range tpls {
		f.claims = f.claims || t.claims
		for _, s := range t.segs {
			if s.src == srcParam && !slices.Contains(f.params, s.name) {
				f.params = append(f.params, s.name)
			}
		}
	}
}

type compiler struct {
	m    *config.Middleware
	errs []error
}

func (c *compiler) errorf(key, format string, args ...any) {
	c.errs = append(c.errs, c.m.Errorf(key, format, args...))
}

// entryErrorf reports a problem of the map entry name under key, placed
// at its value; a name with a '.' would read as a path, so it is placed
// at the map and named in the message.
func (c *compiler) entryErrorf(key, name, format string, args ...any) {
	if strings.Contains(name, ".") {
		c.errorf(key, "%q: %s", name, fmt.Sprintf(format, args...))
		return
	}
	c.errorf(key+"."+name, format, args...)
}

// headers compiles a name -> template map, sorted by name.
func (c *compiler) headers(key string, hs map[string]string) []headerTemplate {
	var out []headerTemplate
	for _, name := range sortedKeys(hs) {
		if err := checkRequestHeader(name); err != nil {
			c.entryErrorf(key, name, "%v", err)
			continue
		}
		t, err := parseTemplate(hs[name])
		if err != nil {
			c.entryErrorf(key, name, "%v", err)
			continue
		}
		for _, s := range t.segs {
			if s.src == srcLiteral && !safeLiteral(s.lit) {
				c.entryErrorf(key, name, "value has a control character")
			}
		}
		if isIdentityHeader(name) && !t.identity {
			c.entryErrorf(key, name, "an identity header the gateway guards: its value may only hold literals, {claims.NAME}, {consumer} and {subject}, never what the client sends")
		}
		out = append(out, headerTemplate{name: name, value: t})
	}
	return out
}

// headerNames checks a list of names to remove (identity headers may be:
// dropping one forges nothing).
func (c *compiler) headerNames(key string, names []string) []string {
	for _, name := range names {
		if err := checkRequestHeader(name); err != nil {
			c.errorf(key, "%q: %v", name, err)
		}
	}
	return slices.Clone(names)
}

func (c *compiler) headerRenames(rn map[string]string) []headerRename {
	var out []headerRename
	for _, from := range sortedKeys(rn) {
		to := rn[from]
		for _, name := range []string{from, to} {
			if err := checkRequestHeader(name); err != nil {
				c.entryErrorf("request.rename_headers", from, "%q: %v", name, err)
			} else if isIdentityHeader(name) {
				c.entryErrorf("request.rename_headers", from, "%q: an identity header the gateway guards: a rename would pass a client's value as identity", name)
			}
		}
		out = append(out, headerRename{from: from, to: to})
	}
	return out
}

// headerConflicts refuses a header named by more than one of set, remove
// and rename (either side), and one both added and removed: the result
// would depend on the order of edits.
func (c *compiler) headerConflicts(r *RequestEdits) {
	seen := map[string]string{}
	claim := func(name, key string) {
		n := strings.ToLower(name)
		if prev, dup := seen[n]; dup && prev != key {
			c.errorf(key, "%q is also in %s", name, prev)
		} else {
			seen[n] = key
		}
	}
	for _, n := range sortedKeys(r.SetHeaders) {
		claim(n, "request.set_headers")
	}
	for _, n := range r.RemoveHeaders {
		claim(n, "request.remove_headers")
	}
	for _, from := range sortedKeys(r.RenameHeaders) {
		claim(from, "request.rename_headers")
		claim(r.RenameHeaders[from], "request.rename_headers")
	}
	for _, n := range sortedKeys(r.AddHeaders) {
		if prev := seen[strings.ToLower(n)]; prev != "" {
			c.errorf("request.add_headers", "%q is also in %s", n, prev)
		}
	}
}

// query compiles the *_query keys.
func (c *compiler) query(r *RequestEdits) queryEdits {
	var q queryEdits
	seen := map[string]string{}
	claim := func(name, key string) {
		if name == "" {
			c.errorf(key, "an empty parameter name")
		} else if prev, dup := seen[name]; dup && prev != key {
			c.errorf(key, "%q is also in %s", name, prev)
		} else {
			seen[name] = key
		}
	}
	for _, n := range r.RemoveQuery {
		claim(n, "request.remove_query")
		q.remove = append(q.remove, n)
	}
	for _, from := range sortedKeys(r.RenameQuery) {
		claim(from, "request.rename_query")
		claim(r.RenameQuery[from], "request.rename_query")
		q.rename = append(q.rename, queryRename{from: from, to: appendText(nil, r.RenameQuery[from], inQuery)})
	}
	q.set = c.queryParams("request.set_query", r.SetQuery, claim)
	q.add = c.queryParams("request.add_query", r.AddQuery, func(name, key string) {
		if prev := seen[name]; prev == "request.remove_query" || prev == "request.set_query" {
			c.errorf(key, "%q is also in %s", name, prev)
		}
	})
	if len(q.set) > maxSetQuery {
		c.errorf("request.set_query", "%d parameters, at most %d", len(q.set), maxSetQuery)
	}
	return q
}

func (c *compiler) queryParams(key string, ps map[string]string, claim func(name, key string)) []queryEntry {
	var out []queryEntry
	for _, name := range sortedKeys(ps) {
		claim(name, key)
		t, err := parseTemplate(ps[name])
		if err != nil {
			c.entryErrorf(key, name, "%v", err)
			continue
		}
		out = append(out, queryEntry{name: name, enc: appendText(nil, name, inQuery), value: t})
	}
	return out
}

// prefix checks replace_prefix: both sides paths as the path policy
// leaves them, so that from can match and to is what goes upstream.
func (c *compiler) prefix(p *PrefixRewrite) {
	for _, side := range []struct{ key, v string }{{"request.replace_prefix.from", p.From}, {"request.replace_prefix.to", p.To}} {
		switch {
		case !validPath([]byte(side.v)):
			c.errorf(side.key, "%q is not a path: it must start with '/' and hold only path characters, no dot segment", side.v)
		case side.v != "/" && strings.HasSuffix(side.v, "/"):
			c.errorf(side.key, "%q must not end with '/' (prefixes are whole segments)", side.v)
		case strings.Contains(side.v, "//"):
			c.errorf(side.key, "%q has an empty segment", side.v)
		case encodesUnreserved(side.v):
			c.errorf(side.key, "%q encodes a letter, digit or -._~: the path policy decodes those, so write it plain", side.v)
		}
	}
}

// host checks request.host: host[:port], nothing else.
func (c *compiler) host(h string) {
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Hostname() == "" {
		c.errorf("request.host", "%q is not a host[:port]", h)
	}
}

// encodesUnreserved reports a %XX escape of an unreserved byte.
func encodesUnreserved(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && isHex(s[i+1]) && isHex(s[i+2]) && isUnreserved(unhex(s[i+1])<<4|unhex(s[i+2])) {
			return true
		}
	}
	return false
}

// checkRequestHeader refuses names that are not field names and the
// headers the gateway writes or guards in the upstream request:
// framing (a changed Content-Length or Transfer-Encoding would desync the
// upstream connection), hop-by-hop headers, Host (request.host sets it),
// forwarding and tracing headers, and the override headers the gateway
// drops so that the upstream acts on the routed path and method.
func checkRequestHeader(name string) error {
	n := []byte(name)
	switch {
	case !http1.IsFieldName(name):
		return fmt.Errorf("not a header name")
	case http1.IsHopByHop(n):
		return fmt.Errorf("a hop-by-hop header, the gateway's to write")
	case strings.EqualFold(name, "Host"):
		return fmt.Errorf("set the Host with request.host")
	case strings.EqualFold(name, "Content-Length"), strings.EqualFold(name, "Expect"):
		return fmt.Errorf("framing is the gateway's: changing it would desync the upstream connection")
	case slices.ContainsFunc(gatewayWritten, func(g string) bool { return strings.EqualFold(g, name) }):
		return fmt.Errorf("written by the gateway itself (forwarding and tracing)")
	case slices.ContainsFunc(overrideHeaders, func(g string) bool { return strings.EqualFold(g, name) }):
		return fmt.Errorf("an override header the gateway drops so the upstream acts on the routed path and method (rewrite the path with replace_prefix or rewrite)")
	}
	return nil
}

var (
	gatewayWritten  = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Real-IP", "Via", "X-Request-ID"}
	overrideHeaders = []string{"X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}
)

// isIdentityHeader: X-User-* and X-Consumer-* (with '_' for '-', as CGI
// stacks read them), which the gateway strips from clients so only
// authentication filters set them.
func isIdentityHeader(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	return strings.HasPrefix(n, "x-user-") || strings.HasPrefix(n, "x-consumer-")
}

// safeLiteral: no control byte but HTAB, no DEL (RFC 9110 §5.5).
func safeLiteral(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
