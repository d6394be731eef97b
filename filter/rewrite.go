package filter

import "bytes"

// The request-line and Host edits a filter may make (transform's rewrites),
// and header edits beyond AddUpstreamHeader and StripUpstream. They live in
// Exchange.rw; the engine reads them when it writes the upstream head.
//
// Paths and queries are built in buffers the exchange owns and keeps from
// request to request, two of each, so a filter may build the new value
// from the current one (which may be the other buffer) without copying
// through memory of its own: ask PathBuffer for an empty buffer, append
// the new path, hand it to SetUpstreamPath.

// rewrite is the Exchange's record of request-line and Host edits.
type rewrite struct {
	strip       []byte // the route's strip_prefix (engine), read-only
	path, query swapBuf
	host        []byte // a filter's, read-only; nil: the engine's choice
}

// reset clears the edits for the next request, keeping buffer capacity.
func (r *rewrite) reset() rewrite {
	return rewrite{path: r.path.reset(), query: r.query.reset()}
}

// swapBuf is a value a filter may replace: cur when set, and the spare
// buffer the next value is built in.
type swapBuf struct {
	cur, spare []byte
	set        bool
}

func (s *swapBuf) reset() swapBuf { return swapBuf{cur: s.cur[:0], spare: s.spare[:0]} }

// put makes v the value. v may be the spare buffer (built in it), cur, or
// anything else: it is copied into the spare, which then becomes cur, so
// neither buffer is ever memory the exchange does not own.
func (s *swapBuf) put(v []byte) {
	s.spare = append(s.spare[:0], v...)
	s.cur, s.spare = s.spare, s.cur
	s.set = true
}

// root is the path of a request whose whole path strip_prefix removed.
var root = []byte("/")

// SetStripPrefix records the route's strip_prefix (a whole-segment prefix
// of every path the route matches, read-only), so UpstreamPath can say what
// will be forwarded. Engine only, with the other request fields.
func (x *Exchange) SetStripPrefix(sp []byte) { x.rw.strip = sp }

// UpstreamPath returns the path that will be sent upstream as things
// stand: a filter's SetUpstreamPath, else Path less the route's
// strip_prefix ("/" when that was all of it). Read-only, valid until the
// next SetUpstreamPath. Request phase, the request's loop.
func (x *Exchange) UpstreamPath() []byte {
	if x.rw.path.set {
		return x.rw.path.cur
	}
	return x.ForwardPath(x.Path, x.rw.strip)
}

// ForwardPath returns the path to write upstream for the normalised path
// norm of a route whose strip_prefix is strip: a filter's SetUpstreamPath,
// else norm less strip ("/" when that was all of it). Engine only.
func (x *Exchange) ForwardPath(norm, strip []byte) []byte {
	if x.rw.path.set {
		return x.rw.path.cur
	}
	if len(strip) > 0 && bytes.HasPrefix(norm, strip) {
		if norm = norm[len(strip):]; len(norm) == 0 {
			return root
		}
	}
	return norm
}

// PathBuffer returns an empty buffer, owned by the exchange, to append a
// new upstream path to before handing it to SetUpstreamPath; it is not the
// buffer UpstreamPath reads from. Request phase.
func (x *Exchange) PathBuffer() []byte { return x.rw.path.spare[:0] }

// SetUpstreamPath makes p the path sent upstream in place of the routed
// one (and of strip_prefix's result). p is copied unless it was built in
// PathBuffer. The caller vouches that p is a valid origin-form path: it
// starts with '/' and holds no space, control byte, '?' or '#'. Later
// filters see it through UpstreamPath; Path stays the routed path.
// Request phase.
func (x *Exchange) SetUpstreamPath(p []byte) { x.rw.path.put(p) }

// UpstreamQuery returns the query string that will be sent upstream
// (without '?'): a filter's SetUpstreamQuery, else the client's. nil means
// none (no '?'). Read-only, valid during the filter's Request.
func (x *Exchange) UpstreamQuery() []byte {
	if x.rw.query.set {
		return x.rw.query.cur
	}
	if x.Req == nil {
		return nil
	}
	return x.Req.Query
}

// QueryBuffer returns an empty buffer, owned by the exchange, to append a
// new query string to before handing it to SetUpstreamQuery. Request phase.
func (x *Exchange) QueryBuffer() []byte { return x.rw.query.spare[:0] }

// SetUpstreamQuery makes q (without '?') the query string sent upstream;
// an empty q sends none. q is copied unless it was built in QueryBuffer.
// The caller vouches that q is percent-encoded (no space, control byte or
// '#'). Request phase.
func (x *Exchange) SetUpstreamQuery(q []byte) { x.rw.query.put(q) }

// ForwardQuery returns the query string to write upstream for the client's
// query q: a filter's SetUpstreamQuery (nil when that is empty), else q.
// Engine only.
func (x *Exchange) ForwardQuery(q []byte) []byte {
	if !x.rw.query.set {
		return q
	}
	if len(x.rw.query.cur) == 0 {
		return nil
	}
	return x.rw.query.cur
}

// SetUpstreamHost makes host the Host header sent upstream, over the
// target's name and over preserve_host, on every try (a retry to another
// target keeps it). host is kept, not copied: a constant or config bytes,
// a valid host[:port]. Request phase.
func (x *Exchange) SetUpstreamHost(host []byte) { x.rw.host = host }

// UpstreamHost returns the Host a filter set, nil if none. Engine only.
func (x *Exchange) UpstreamHost() []byte { return x.rw.host }

// RemoveUpstreamHeader drops every header called name from the request
// sent upstream: the client's (as StripUpstream) and those earlier filters
// added. name is kept until the head is written (a constant or config
// string). Request phase.
func (x *Exchange) RemoveUpstreamHeader(name string) {
	x.StripUpstream(name)
	x.upHeaders = dropLines(x.upHeaders, name)
}

// AppendUpstreamHeader adds the header line "name: value" upstream, where
// value is what render appends to the slice it is given (render must only
// append: the slice's bytes before its length are not the value's). It
// adds nothing when render reports false (no value) or the value holds a
// control byte (CR, LF, NUL, ...: it would split or corrupt the head), and
// reports whether it added the line. render does not escape, so a closure
// costs no allocation. Request phase.
func (x *Exchange) AppendUpstreamHeader(name string, render func(dst []byte) ([]byte, bool)) bool {
	mark := len(x.upHeaders)
	b := append(x.upHeaders, name...)
	b = append(b, ": "...)
	start := len(b)
	b, ok := render(b)
	if !ok || !safeValue(b[start:]) {
		x.upHeaders = b[:mark]
		return false
	}
	x.upHeaders = append(b, "\r\n"...)
	return true
}

// safeValue reports whether v can be a field value as it is: no control
// byte but HTAB (RFC 9110 §5.5), no DEL.
func safeValue(v []byte) bool {
	for _, c := range v {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
