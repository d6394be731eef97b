// Package compress is `type: compress`: it encodes response bodies with
// zstd, brotli or gzip as the client's Accept-Encoding asks, streamed
// through the response body phase (filter.BodyTransform) with bounded
// memory.
//
// The decision is taken in two steps. Request reads Accept-Encoding (its
// views die with the request head) and keeps the chosen coding in the
// filter's State slot. ResponseHead then checks the response: nothing is
// done to a response to HEAD, a 1xx, 204, 206 (a range of the
// representation, which encoding would break) or 304; one that already
// has a Content-Encoding or says Cache-Control: no-transform; one whose
// Content-Length is under min_size; one whose Content-Type is not in
// content_types (or is missing); and the gateway's own answers. Every
// other final status is compressed: an error's JSON body is a body like
// any other. Whenever the response was a candidate, the choice depended on
// Accept-Encoding, so Vary gets Accept-Encoding (merged into the Vary the
// response has) even when the client gets identity. A compressed response
// gets Content-Encoding, a strong ETag made weak (the bytes differ from
// the identity representation's), no Accept-Ranges (ranges of the encoded
// stream are not offered), and no Content-Length: the engine sends it
// chunked to HTTP/1.1 clients and close-delimited to HTTP/1.0 ones.
package compress

import (
	"bytes"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func init() {
	filter.Register(filter.Type{Name: "compress", Decode: decode, Build: build})
}

// Filter is a built `type: compress` instance. Immutable after build; its
// encoder pools are safe for every loop at once.
type Filter struct {
	offer   []coding              // the codings offered, in preference order
	pools   [numCodings]*encoders // per offered coding
	minSize int64                 // a known length under this is left alone
	types   []pattern             // content types compressed
	names   [numCodings][]byte    // Content-Encoding values
}

var (
	_ filter.ResponseHeadFilter = (*Filter)(nil)
	_ filter.BodyTransform      = (*transform)(nil)
)

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, errSettings
	}
	f := &Filter{minSize: defaultMin}
	if s.MinSize != nil {
		f.minSize = int64(*s.MinSize)
	}
	names := s.Encodings
	if len(names) == 0 {
		names = []string{"zstd", "br", "gzip"}
	}
	for _, name := range names {
		c := codingNamed(name)
		f.offer = append(f.offer, c)
		f.pools[c] = newEncoders(c, levelOf(s.Level, c))
		f.names[c] = []byte(codingNames[c])
	}
	types := s.ContentTypes
	if len(types) == 0 {
		types = defaultContentTypes
	}
	for _, t := range types {
		p, _ := parsePattern(t) // checked by decode
		f.types = append(f.types, p)
	}
	return f, nil
}

// levelOf is the configured or default level of c.
func levelOf(l Levels, c coding) int {
	switch c {
	case gzipCoding:
		return deref(l.Gzip, defaultGzip)
	case brCoding:
		return deref(l.Br, defaultBr)
	}
	return deref(l.Zstd, defaultZstd)
}

func deref(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// Request picks the coding from Accept-Encoding and keeps it for
// ResponseHead. Any loop; no allocation.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	x.State().N = uint64(negotiate(x.Req, f.offer))
	return filter.Continue
}

// ResponseHead decides whether this response is compressed (see the
// package doc) and, if so, attaches a pooled encoder to its body. Any
// loop; no allocation in the steady state.
func (f *Filter) ResponseHead(x *filter.Exchange, resp *filter.Response) filter.Verdict {
	if !f.candidate(x, resp) {
		return filter.Continue
	}
	resp.AddListToken("Vary", "Accept-Encoding")
	c := coding(x.State().N)
	if c == identity {
		return filter.Continue
	}
	t := f.pools[c].get()
	if !resp.TransformBody(t) {
		t.Release()
		return filter.Continue
	}
	resp.Set("Content-Encoding", f.names[c])
	resp.Remove("Accept-Ranges")
	if etag := resp.Header("ETag"); len(etag) > 0 && etag[0] == '"' {
		var buf [128]byte
		resp.Set("ETag", append(append(buf[:0], "W/"...), etag...))
	}
	return filter.Continue
}

// candidate reports whether the response may be compressed, whatever the
// client accepts.
func (f *Filter) candidate(x *filter.Exchange, resp *filter.Response) bool {
	s := resp.Status
	if resp.Local || s < 200 || s == 204 || s == 206 || s == 304 || string(x.Method) == "HEAD" {
		return false
	}
	if resp.Header("Content-Encoding") != nil {
		return false
	}
	if cl := resp.Header("Content-Length"); cl != nil {
		if n, ok := http1.ParseContentLength(cl); ok && (n < f.minSize || n == 0) {
			return false
		}
	}
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if http1.EqualFold(h.Name, "Cache-Control") && http1.HasToken(h.Value, "no-transform") {
			return false
		}
	}
	return f.compressible(resp.Header("Content-Type"))
}

// compressible reports whether the media type of a Content-Type value is
// in content_types (case-insensitive; parameters ignored).
func (f *Filter) compressible(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	slash := bytes.IndexByte(ct, '/')
	if slash <= 0 {
		return false
	}
	typ, sub := ct[:slash], ct[slash+1:]
	for _, p := range f.types {
		if !http1.EqualFold(typ, p.typ) {
			continue
		}
		switch {
		case p.suffix != "":
			if len(sub) > len(p.suffix) && http1.EqualFold(sub[len(sub)-len(p.suffix):], p.suffix) {
				return true
			}
		case p.sub == "" || http1.EqualFold(sub, p.sub):
			return true
		}
	}
	return false
}
