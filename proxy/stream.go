package proxy

import (
	"bytes"
	"math"
	"os"
	"time"

	"github.com/sluicehq/sluice/http1"
)

// Long bodies that outrun their reader are moved off the loop (DESIGN §3.5).
// gnet reads every readable socket at once and buffers without bound, so the
// only way to make a fast sender wait for a slow receiver is to stop polling
// the sender: the transport Dups its fd and lets go of its connection
// (Socket.Detach; gnet removes the fd from epoll before closing, so the dup
// stays a clean socket) and a goroutine
// read it with blocking I/O and a real TCP window. For an upload the receiver
// (the upstream) stays on the loop; the goroutine hands it one buffer at a
// time with Execute and waits while its outbound buffer is above
// streamLowWater: per detached upload the gateway holds at most
// streamHighWater + streamBuf bytes of body. A response stream writes to the
// client itself (stream_response.go).
const (
	streamHighWater = 256 << 10 // receiver's pending bytes that trigger a detach
	streamLowWater  = 64 << 10  // the goroutine resumes reading below this
	streamBuf       = 64 << 10  // the goroutine's read size
	streamPoll      = 2 * time.Millisecond
	streamPollMax   = 50 * time.Millisecond
	streamStall     = 60 * time.Second // a sender silent this long is dropped
)

// stream is a body being copied by a goroutine. Its fields are set before the
// goroutine starts and read-only after; the exchange it serves may be gone by
// the time a callback runs, which the callbacks check on the loop.
type stream struct {
	ex   *exchange
	cl   *client
	lp   *Worker
	file *os.File
	fail chan struct{} // closed by the loop when the exchange died
	held []byte        // body bytes gnet read before the detach, copied first
	out  *os.File      // response streams: a dup of the client socket (stream_response.go)
	sent int64         // response bytes written to out, added to bytesOut on the loop
	body streamBody    // response streams: the body phase, when transformed (response_body.go)
}

// alive reports whether the exchange this stream serves still exists.
// Loop only.
func (s *stream) alive() bool {
	return !s.cl.closed && s.cl.ex == s.ex && s.ex.stream == s
}

// onLoop runs fn on the stream's loop and waits for it. It returns false when
// the loop is gone or the exchange died. Called by the stream goroutine.
func (s *stream) onLoop(fn func() bool) bool {
	done := make(chan bool, 1)
	err := s.lp.loop.Execute(func() {
		if !s.alive() {
			done <- false
			return
		}
		done <- fn()
	})
	if err != nil {
		return false
	}
	select {
	case ok := <-done:
		return ok
	case <-s.fail:
		return false
	}
}

// frames gathers what one read of a stream turned into, so it reaches the
// loop in one Execute and one write. A lone data run (a length- or
// close-delimited body, or a de-chunked one) is written from the read buffer
// as it is; anything else is copied into buf, since a frame's size line
// lives in the framer and the next Next overwrites it. Stream goroutine only.
type frames struct {
	one []byte // the lone data run, not copied
	buf []byte
}

func (f *frames) reset() { f.one, f.buf = nil, f.buf[:0] }

func (f *frames) add(fr http1.Frame) {
	if fr.Len() == 0 {
		return
	}
	if len(fr.Pre)+len(fr.Post) == 0 && f.one == nil && len(f.buf) == 0 {
		f.one = fr.Data
		return
	}
	if f.one != nil {
		f.buf, f.one = append(f.buf, f.one...), nil
	}
	f.buf = fr.AppendTo(f.buf)
}

// bytes is everything added since reset.
func (f *frames) bytes() []byte {
	if f.one != nil {
		return f.one
	}
	return f.buf
}

// waitBelowLowWater polls pending (on the loop) until it reports at most
// streamLowWater bytes. gnet has no "drained" event, so a slow receiver is
// polled every streamPoll; the sender's TCP window does the waiting meanwhile.
// It returns false when pending reports the receiver gone or the exchange
// died. Called by the stream goroutine.
func (s *stream) waitBelowLowWater(pending func() (int, bool)) bool {
	return s.waitBelow(pending, streamLowWater)
}

// waitBelow is waitBelowLowWater with the mark given. Called by the stream
// goroutine.
func (s *stream) waitBelow(pending func() (int, bool), mark int) bool {
	// A receiver that takes nothing for the keep-alive idle timeout is as
	// good as gone (like nginx's send_timeout): the clock restarts whenever
	// pending shrinks. Polls back off from streamPoll to streamPollMax while
	// nothing moves, so a stalled receiver costs the loop a few calls a
	// second, not hundreds. (Regression:
	// TestStreamedResponseToNonReaderOutlivesClientIdle.)
	stall := s.cl.sendTimeout()
	giveUp := time.Now().Add(stall)
	poll, last := streamPoll, math.MaxInt
	for {
		var n int
		if !s.onLoop(func() bool {
			var ok bool
			n, ok = pending()
			return ok
		}) {
			return false
		}
		if n <= mark {
			return true
		}
		now := time.Now()
		if n < last {
			giveUp, poll = now.Add(stall), streamPoll
		} else if now.After(giveUp) {
			return false
		} else {
			poll = min(2*poll, streamPollMax)
		}
		last = n
		select {
		case <-time.After(poll):
		case <-s.fail:
			return false
		}
	}
}

// streamRequest moves the rest of the request body off the loop: the client
// is detached and read by a goroutine, the upstream stays on the loop. When
// the body is done the client is enrolled on the loop again and the response
// flows as usual. Called when the upstream's outbound buffer passed
// streamHighWater. Loop only.
func (ex *exchange) streamRequest() {
	cl := ex.cl
	// Body bytes the transport already read (while the upstream was being
	// dialed) go to the goroutine first; detaching drops them.
	var held []byte
	if b, _ := cl.c.Peek(-1); len(b) > 0 {
		held = bytes.Clone(b)
	}
	f, err := cl.sock.Detach()
	if err != nil {
		ex.abortRequest(errCannotStreamBody)
		return
	}
	s := &stream{ex: ex, cl: cl, lp: cl.lp, file: f, held: held, fail: make(chan struct{})}
	ex.stream = s
	s.lp.e.streams.Add(1)
	cl.detached = true
	go s.copyRequest()
}

// read fills want from the held bytes first, then from the socket. Called by
// the stream goroutine.
func (s *stream) read(want []byte) (int, error) {
	if len(s.held) > 0 {
		n := copy(want, s.held)
		if s.held = s.held[n:]; len(s.held) == 0 {
			s.held = nil // not a stream-long hold on the copy
		}
		return n, nil
	}
	_ = s.file.SetReadDeadline(time.Now().Add(streamStall))
	return s.file.Read(want)
}

func (s *stream) copyRequest() {
	buf := make([]byte, streamBuf)
	var out frames
	ex := s.ex
	// Framing state moves to the goroutine; the loop no longer touches it.
	fr := ex.reqFr
	limit := ex.snap.MaxBodyBytes
	overread := false
	for done := false; !done; {
		if !s.waitUpstreamDrained() {
			s.upstreamGone()
			return
		}
		want := buf
		if fr.Framing() == http1.FramingLength {
			// Never read past the body: Committed - Received is what is left.
			want = buf[:min(int64(len(buf)), fr.Committed()-fr.Received())]
		}
		n, err := s.read(want)
		p := want[:n]
		out.reset()
		var ferr error
		for len(p) > 0 && !done && ferr == nil {
			var k int
			var f http1.Frame
			k, f, done, ferr = fr.Next(p)
			out.add(f)
			p = p[k:]
		}
		if ferr != nil {
			s.abort(errBadChunkedBody)
			return
		}
		overread = len(p) > 0 || (done && len(s.held) > 0)
		if limit > 0 && fr.Committed() > limit {
			s.abort(errBodyTooLarge)
			return
		}
		if w := out.bytes(); len(w) > 0 && !s.onLoop(func() bool {
			up := s.ex.up
			if up == nil || up.closed {
				return false
			}
			_, _ = up.c.Write(w)
			s.ex.deadline = s.lp.e.clock() + int64(s.ex.target.Cluster.ResponseTimeout)
			return true
		}) {
			s.upstreamGone()
			return
		}
		if err != nil && !done {
			s.abort(errBodyEndedEarly)
			return
		}
	}
	s.reattach(overread || len(s.held) > 0)
}

// waitUpstreamDrained blocks while the upstream's outbound buffer is above
// the low water mark. Called by the stream goroutine.
func (s *stream) waitUpstreamDrained() bool {
	return s.waitBelowLowWater(func() (int, bool) {
		up := s.ex.up
		switch {
		case up == nil || up.closed:
			return 0, false
		case up.c == nil:
			return math.MaxInt, true // still dialing: wait; the sender waits in TCP
		}
		return up.c.OutboundBuffered(), true
	})
}

// upstreamGone ends an upload whose upstream closed (or whose exchange died)
// before the body was through. An upstream that answered first (a 413, say,
// with Connection: close) has its response kept (early.go): the client is
// reattached to get it, and the connection closes after it, the rest of
// the body unread. Otherwise the client gets a 502. Called by the stream
// goroutine.
func (s *stream) upstreamGone() {
	answered := false
	s.onLoop(func() bool { answered = s.ex.early != nil; return true })
	if answered {
		s.reattach(true)
		return
	}
	s.abort(errUpstreamClosed)
}

// abort ends a detached upload that went wrong: the client socket is ours,
// so the error response is written here with blocking I/O. Called by the
// stream goroutine.
func (s *stream) abort(err *replyError) {
	var resp []byte
	ok := s.onLoop(func() bool {
		ex := s.ex
		if up := ex.up; up != nil {
			ex.up = nil
			up.ex = nil
			up.discard()
		}
		if !ex.wrote { // once a response started, the client can only be cut off
			ex.keepAlive = false
			resp = appendErrorResponse(nil, ex, err.status, err.msg, nil, false)
		}
		s.cl.detached = false
		s.cl.ex = nil
		ex.stream = nil
		s.lp.release(ex)
		s.cl.gone()
		return true
	})
	if ok && resp != nil {
		_ = s.file.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = s.file.Write(resp)
	}
	s.file.Close()
}

// reattach enrolls the client socket on its loop again once the request body
// is through; OnOpen (client.reattached) resumes the exchange. A goroutine
// that read past the body (pipelining behind a chunked upload) cannot give
// those bytes back to gnet, and one that stopped short of its end
// (upstreamGone) leaves the stream at an unknown point: with overread, the
// connection closes after the response.
func (s *stream) reattach(overread bool) {
	defer s.file.Close()
	s.onLoop(func() bool {
		s.ex.reqDone = true
		if overread {
			s.ex.keepAlive = false
		}
		s.cl.back = s
		return true
	})
	if err := s.cl.sock.Reattach(s.file); err != nil {
		s.abort(errCannotResume)
	}
}

// Reattached runs when the client's socket returns from a stream.
// Loop only.
func (cl *client) Reattached(c Conn) {
	s := cl.back
	cl.back = nil
	if !cl.detached || cl.closed || s == nil {
		cl.sock.Close()
		return
	}
	cl.c = c
	cl.detached = false
	ex := cl.ex
	if ex != s.ex {
		return
	}
	ex.stream = nil
	ex.deadline = s.lp.e.clock() + int64(ex.target.Cluster.ResponseTimeout)
	if ex.up == nil {
		if ex.early != nil {
			ex.relayEarly() // it answered, then closed, while the client was away
			return
		}
		ex.upstreamClosed() // it closed while the client was away
		return
	}
	ex.pumpResponse() // bytes that waited in the upstream's buffer
}
