package proxy

import (
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/router"
	"github.com/sluicehq/sluice/upstream"
)

// response states.
const (
	rsHead uint8 = iota // waiting for the upstream's status line and headers
	rsBody              // relaying the body
)

// exchange is one request in flight: the client it came from, the upstream
// connection carrying it, and where both bodies stand. It lives on the
// client's loop and is recycled through the loop's free list.
type exchange struct {
	cl     *client
	up     *upConn
	target *upstream.Target
	route  *pipeline.Route
	snap   *pipeline.Snapshot

	id    [idLen + 64]byte // request ID (ours or a well-formed client one)
	idLen int

	head        *bytebufferpool.ByteBuffer // upstream request head, kept for one retry
	headOnWire  bool                       // head written to the current upstream conn
	headReq     bool                       // HEAD: the response has no body whatever it says
	clientMinor int                        // client's HTTP/1.x minor version
	keepAlive   bool                       // client wants (and may have) another request on this conn
	idempotent  bool                       // safe to replay on a fresh connection
	peerTrusted bool                       // the TCP peer is in trusted_proxies (see forwarded.go)
	retried     bool
	lastReused  bool // the current upstream conn came from the pool

	reqFraming http1.Framing
	reqBody    int64            // request body bytes forwarded
	reqFr      http1.BodyFramer // delimits and re-frames the request body
	reqDone    bool

	// Request buffering (see bodybuf.go).
	bufWait  bool          // parked, head unread, until the body is whole
	bufWhole bool          // the body was whole before the upstream was taken
	bufHead  int           // the head's length while parked
	bufAt    int           // chunked: body bytes scanned so far
	bufScan  http1.Chunked // chunked: the scan's state
	bufData  int64         // chunked: body content scanned so far (bodyfilter.go)
	bufStop  *replyError   // why buffering for a body filter gave up (bodyfilter.go)
	bodyPark bool          // a body filter paused the request (bodyfilter.go)

	resp      http1.Response
	respState uint8
	respFrame http1.Framing
	respFr    http1.BodyFramer // delimits and re-frames the response body
	dechunk   bool             // client is HTTP/1.0: strip chunked framing
	wrote     bool             // some response byte reached the client
	gotByte   bool             // some response byte came from the upstream
	deadline  int64
	stream    *stream  // a goroutine is copying one of the bodies
	rb        respBody // the body runs through ResponseBody transforms (response_body.go)

	// A response that arrived while the client was detached (early.go).
	early   []byte // what the upstream sent before closing; nil unless it closed then
	tWaited int64  // monotonic nanos of the first response byte that had to wait; 0 if none did

	// Middleware state (see filters.go).
	fx      filter.Exchange
	chain   *filter.Chain
	chainAt int           // the filter a paused chain resumes at
	ranTo   int           // filters [0, ranTo) ran Request to Continue: the response phase runs over them
	paused  bool          // a filter parked the request; its head is still unread
	parkFor time.Duration // the parking filter's timeout (0: parkTimeout)
	parkMsg string        // and its 503 message ("": parkMessage)
	gen     uint32        // bumped on release, so a late resume finds a stranger
	keep    []byte        // method and path copied for Finish

	// Sub-requests (call.go).
	calls    []*subCall // running
	awaiting bool       // parked until calls is empty (filter.Exchange.Await)

	// Balancing state (see balance.go).
	hashKey         uint64        // consistent-hash key
	wait            time.Duration // until a target may be tried, when none was
	selected        bool          // the target holds a slot until report
	attempts        int           // tries so far, the first included
	hostAt, hostEnd int           // the Host value in head, rewritten on retry

	// Observation (see observe.go): monotonic nanos, bytes to and from the
	// client, and copies of what the access log needs after the callback.
	tStart, tSent, tHead int64
	bytesIn, bytesOut    int64
	method               [16]byte
	methodLen            int
	logPath              []byte
	logQuery             []byte // redacted query; nil without '?' (hasQuery false)
	hasQuery             bool
}

func (lp *Worker) getExchange() *exchange {
	if n := len(lp.free); n > 0 {
		ex := lp.free[n-1]
		lp.free = lp.free[:n-1]
		return ex
	}
	return &exchange{}
}

// release returns ex to the free list. Loop only.
func (lp *Worker) release(ex *exchange) {
	if ex.head != nil {
		bytebufferpool.Put(ex.head)
	}
	if s := ex.stream; s != nil {
		close(s.fail)        // the stream goroutine stops at its next step...
		s.closeStreamFiles() // ...or now, if it is blocked in I/O
	}
	ex.report(upstream.Cancelled) // no verdict was reached on the target
	if len(ex.calls) > 0 {
		ex.cancelCalls()
	}
	ex.cancelPark()
	if ex.chain.HasFinishers() {
		ex.finish()
	}
	ex.observe()
	resp := ex.resp
	resp.Reset() // keep the header slice's capacity
	ex.fx.Reset(nil)
	*ex = exchange{resp: resp, fx: ex.fx, keep: ex.keep[:0], logPath: ex.logPath[:0], logQuery: ex.logQuery[:0], calls: ex.calls[:0], gen: ex.gen + 1}
	if len(lp.free) < 1024 {
		lp.free = append(lp.free, ex)
	}
}

func (ex *exchange) setID(id []byte) { ex.idLen = copy(ex.id[:], id) }

func (ex *exchange) requestID() []byte { return ex.id[:ex.idLen] }

// begin routes the parsed request whose head is the first n buffered bytes
// and starts forwarding it. Loop only.
func (cl *client) begin(snap *pipeline.Snapshot, n int) {
	lp := cl.lp
	req := &lp.req
	ex := lp.getExchange()
	ex.cl, ex.snap = cl, snap
	ex.tStart = nanotime()
	ex.bytesIn = int64(n)
	ex.methodLen = copy(ex.method[:], req.Method)
	if snap.AccessLog != nil {
		ex.logPath = append(ex.logPath[:0], req.Path...)
		ex.hasQuery = req.Query != nil
		ex.logQuery = observe.AppendLogQuery(ex.logQuery[:0], req.Query)
	}
	ex.clientMinor = req.Minor
	ex.keepAlive = req.KeepAlive
	ex.headReq = string(req.Method) == "HEAD"
	ex.idempotent = isIdempotent(req.Method)
	if id := req.Header("X-Request-ID"); snap.TrustRequestID && validRequestID(id) {
		ex.setID(id)
	} else {
		var gen [idLen]byte
		lp.newRequestID(&gen)
		ex.setID(gen[:])
	}
	cl.ex = ex
	cl.state = csBusy

	// The client as logged, limited and hashed: the peer, or the client a
	// trusted proxy forwarded for. Whether the peer is trusted also decides
	// which forwarding headers survive (forwarded.go).
	ex.fx.ClientIP = cl.addr
	if ex.peerTrusted = len(snap.TrustedProxies) > 0 && inPrefixes(snap.TrustedProxies, cl.addr); ex.peerTrusted {
		ex.fx.ClientIP = cl.clientIP(snap.TrustedProxies, req)
	}
	ex.reqFraming = http1.RequestFraming(req)
	hasBody := ex.reqFraming != http1.FramingNone
	fail := func(err error, allow []byte) {
		_, _ = cl.c.Discard(n)
		// The body, if any, was not read: the connection cannot continue.
		ex.fail(err, allow, hasBody)
	}

	if len(req.Path) == 0 || req.Path[0] != '/' {
		fail(errTargetForm, nil)
		return
	}
	// The path policy runs before routing, and its output is what
	// appendUpstreamHead forwards: the router and the upstream see one
	// path.
	norm, err := snap.PathPolicy.Normalize(lp.norm[:0], req.Path)
	lp.norm = norm
	if err != nil {
		fail(err, nil)
		return
	}
	lp.params.Reset()
	idx, res, allow := cl.match(snap, req, norm)
	switch res {
	case router.NotFound:
		fail(errNoRoute, nil)
		return
	case router.MethodNotAllowed:
		fail(errMethodNotAllowed, allow)
		return
	}
	if ex.reqFraming == http1.FramingLength {
		if snap.MaxBodyBytes > 0 && req.ContentLength > snap.MaxBodyBytes {
			fail(errBodyTooLarge, nil)
			return
		}
		if req.ContentLength == 0 {
			ex.reqFraming = http1.FramingNone
		}
	}
	// Chunked requests are re-chunked: our size lines, no extensions, no
	// trailers (http1.BodyFramer).
	ex.reqFr.Reset(ex.reqFraming, req.ContentLength, true)
	ex.reqDone = ex.reqFraming == http1.FramingNone
	ex.route = cl.route(snap, idx)
	if ex.chain = ex.route.Chain; ex.chain != nil {
		ex.startFilters(req, norm)
	}
	ex.dispatch(n, 0)
}

// dispatch runs the route's middleware from filter from, then picks a target
// and hands the request to it. The request head (n bytes) is still in the
// client's buffer, parsed into the loop's scratch. Loop only.
func (ex *exchange) dispatch(n, from int) {
	cl := ex.cl
	lp := cl.lp
	if ex.chain != nil {
		v, at := ex.chain.Run(&ex.fx, from)
		ex.ranTo = at
		if v == filter.Pause {
			ex.park(at)
			return
		}
		ex.keepForFinish()
		if v == filter.Respond {
			_, _ = cl.c.Discard(n)
			// An unread body leaves the stream at an unknown point.
			ex.respondFiltered(!ex.reqDone)
			return
		}
	}
	if ex.bufferable() {
		switch ex.bodyBuffered(n) {
		case bodyPartial:
			ex.awaitBody(n, lp.req.Expect100)
			return
		case bodyWhole:
			ex.bufWhole = true
		}
	}
	ex.forward(n)
}

// forward picks a target for a request whose middleware has run and hands
// it over; the head (n bytes) is still in the client's buffer, parsed into
// the loop's scratch. Loop only.
func (ex *exchange) forward(n int) {
	if ex.bodyFilterLimit() > 0 && !ex.filterBody(n) {
		return // answered in the body phase (bodyfilter.go)
	}
	cl := ex.cl
	lp := cl.lp
	if ex.route.Cluster.HashOn.Kind != upstream.HashNone {
		ex.hashKey = ex.balanceKey(&lp.req)
	}
	if !ex.pick(nil) {
		_, _ = cl.c.Discard(n)
		ex.noTarget()
		return
	}
	ex.head = bytebufferpool.Get()
	ex.head.B = appendUpstreamHead(ex.head.B[:0], ex, &lp.req, lp.norm)
	_, _ = cl.c.Discard(n)
	ex.connect()
}

// connect hands the exchange to an idle pooled connection or dials a new one.
// Loop only.
func (ex *exchange) connect() {
	p := ex.cl.lp.pool(ex.target)
	if up := p.get(); up != nil {
		p.m.Reused.Inc()
		up.attach(ex)
		ex.send()
		return
	}
	if !ex.cl.lp.loop.OpenUpstream() {
		// Out of descriptors: the gateway is full, the target is not at
		// fault, so the try is cancelled, not failed (no breaker count).
		observe.UpstreamRefusedFD.Inc()
		ex.report(upstream.Cancelled)
		ex.fx.AddResponseHeader("Retry-After", []byte("1"))
		ex.fail(errTooManyConns, nil, !ex.reqDone)
		return
	}
	p.m.Fresh.Inc()
	p.dial(ex)
}

// send writes the request head (with the first buffered body bytes in the
// same syscall) and arms the response timeout. Loop only.
func (ex *exchange) send() {
	if ex.tSent == 0 {
		ex.tSent = nanotime()
	}
	ex.respState = rsHead
	ex.deadline = ex.cl.lp.e.clock() + int64(ex.target.Cluster.ResponseTimeout)
	ex.pumpRequestBody()
}

// pumpRequestBody writes the head if it has not gone yet, then forwards
// buffered request body bytes upstream: a Content-Length body byte for
// byte, a chunked one re-framed by http1.BodyFramer. Loop only.
func (ex *exchange) pumpRequestBody() {
	cl, up := ex.cl, ex.up
	if up == nil || up.c == nil || up.closed || cl.closed {
		return
	}
	if cl.detached {
		// A stream goroutine owns the body (detached while dialing): the
		// head goes first, the goroutine's writes follow on this loop.
		if !ex.headOnWire {
			ex.headOnWire = true
			_, _ = up.c.Write(ex.head.B)
		}
		return
	}
	for !ex.reqDone && !cl.closed && !up.closed {
		buf, _ := cl.c.Peek(-1)
		if len(buf) == 0 {
			break
		}
		n, out, done, err := ex.reqFr.Next(buf)
		if err != nil {
			ex.abortRequest(errBadChunkedBody)
			return
		}
		ex.reqDone = done
		ex.reqBody = ex.reqFr.Received()
		// A declared length (a chunk's size line included) past the limit is
		// refused before any of it is forwarded.
		if limit := ex.snap.MaxBodyBytes; limit > 0 && ex.reqFr.Committed() > limit {
			ex.abortRequest(errBodyTooLarge)
			return
		}
		// Body progress counts as life: the response timeout runs from the
		// last byte sent or received, like nginx's proxy_send/read_timeout.
		ex.deadline = cl.lp.e.clock() + int64(ex.target.Cluster.ResponseTimeout)
		var head []byte
		if !ex.headOnWire {
			ex.headOnWire = true
			head = ex.head.B
		}
		cl.lp.writeFrame(up.c, head, out)
		_, _ = cl.c.Discard(n)
	}
	if !ex.headOnWire && !up.closed {
		ex.headOnWire = true
		_, _ = up.c.Write(ex.head.B)
	}
	if !ex.reqDone && !up.closed && up.c.OutboundBuffered() > streamHighWater && ex.canStreamRequest() {
		ex.streamRequest() // the upstream reads slower than the client sends
	}
}

// canStreamRequest reports whether the request body may move off the loop
// now: only while nothing of a response is on its way to the client, since
// closing the client's gnet Conn would drop what its buffer still holds.
// Loop only.
func (ex *exchange) canStreamRequest() bool {
	cl := ex.cl
	return !ex.reqDone && !cl.closed && !cl.detached && ex.respState == rsHead && !ex.wrote && cl.c.OutboundBuffered() == 0
}

// abortRequest fails an exchange whose request body turned out bad while it
// was being forwarded: the upstream connection is unusable, and so is the
// client's stream. Loop only.
func (ex *exchange) abortRequest(err *replyError) {
	if up := ex.up; up != nil {
		ex.up = nil
		up.discard()
	}
	ex.fail(err, nil, true)
}

// isIdempotent reports methods RFC 9110 §9.2.2 lets a client (and so a
// gateway) repeat after a connection failure.
func isIdempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}
