package proxy

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/sluicehq/sluice/http1"
)

// A response body that outruns its client is moved off the loop early and
// written to the client by the stream goroutine itself, with blocking I/O on
// a dup of the client's socket: the client's TCP window, not a gnet buffer,
// then holds the gateway's share of the backlog. (Issue 12: a slow reader of
// a 1 MiB response used to pin ~300 KiB of gnet outbound buffer and a 64 KiB
// copy buffer, 520 KB of RSS per client once GC slack was counted.) Per slow
// reader the gateway now holds at most respHighWater of outbound buffer,
// which only drains, plus respBuf while a write is blocked.
const (
	// respHighWater is the client's pending bytes past which the rest of a
	// response moves to a stream; checked before every body write, so the
	// outbound buffer stays at or under it (plus the write that found it
	// empty). The kernel's send buffer absorbs a fast client first: only a
	// client that stopped keeping up ever reaches gnet's buffer.
	respHighWater = 64 << 10
	// respBuf is the stream goroutine's copy buffer, pooled: it is held only
	// between reading a run of body bytes and writing it out.
	respBuf = 32 << 10
)

// respBufs recycles response stream copy buffers across streams.
var respBufs = sync.Pool{New: func() any { b := make([]byte, respBuf); return &b }}

// shouldStreamResponse reports whether the rest of the response must move off
// the loop before next more body bytes are written: the client is not keeping
// up, the request is through and nothing of it waits for the upstream
// (closing the upstream's Conn would drop that). Loop only.
func (ex *exchange) shouldStreamResponse(next int) bool {
	cl, up := ex.cl, ex.up
	if ex.respState != rsBody || ex.rb.whole || !ex.reqDone || cl.closed || up == nil || up.closed || up.c.OutboundBuffered() != 0 {
		return false
	}
	out := cl.c.OutboundBuffered()
	return out > 0 && out+next > respHighWater
}

// streamResponse moves the rest of the response body off the loop: the
// upstream is detached and read by a goroutine, which writes to a dup of the
// client's socket; the client's gnet Conn stays on the loop (it keeps its
// deadlines and carries the next request). Response bytes the upstream sent
// that were not relayed yet go to the goroutine first. Loop only.
func (ex *exchange) streamResponse() {
	up, cl := ex.up, ex.cl
	out, err := cl.sock.Dup()
	if err != nil {
		ex.upstreamBroken(errCannotStreamResponse)
		return
	}
	f, err := up.sock.Dup()
	if err != nil {
		_ = out.Close()
		ex.upstreamBroken(errCannotStreamResponse)
		return
	}
	s := &stream{ex: ex, cl: cl, lp: cl.lp, file: f, out: out, fail: make(chan struct{})}
	if held, _ := up.c.Peek(-1); len(held) > 0 {
		s.held = bytes.Clone(held)
	}
	ex.up = nil
	up.ex = nil
	up.discard() // the dup keeps the socket; this conn never returns to the pool
	s.takeBodyPhase(ex)
	ex.stream = s
	s.lp.e.streams.Add(1)
	s.lp.loop.HoldUpstream() // discard let go of the count; the dup is still a descriptor
	go s.copyResponse()
}

func (s *stream) copyResponse() {
	defer s.lp.loop.CloseUpstream()
	defer s.file.Close()
	defer s.body.chain.Release()
	// Framing state moves to the goroutine; the loop no longer touches it.
	fr := s.ex.respFr
	// What gnet still holds for the client goes out first, then the socket
	// is the goroutine's to write.
	if !s.waitBelow(func() (int, bool) { return s.cl.c.OutboundBuffered(), true }, 0) {
		s.cutOff()
		return
	}
	bp := respBufs.Get().(*[]byte)
	defer respBufs.Put(bp)
	buf := *bp
	var out frames
	for {
		want := buf
		if fr.Framing() == http1.FramingLength {
			// Never read past the body.
			want = buf[:min(int64(len(buf)), fr.Committed()-fr.Received())]
		}
		n, err := s.read(want)
		p := want[:n]
		done := false
		out.reset()
		for len(p) > 0 && !done {
			m, f, fdone, ferr := fr.Next(p)
			if ferr != nil {
				s.cutOff()
				return
			}
			done = fdone
			out.add(f)
			p = p[m:]
		}
		end := done || errors.Is(err, io.EOF) && fr.Framing() == http1.FramingClose
		w, terr := s.transform(out.bytes(), end)
		if terr != nil || len(w) > 0 && !s.send(w) {
			s.cutOff()
			return
		}
		switch {
		case end:
			// Bytes after the end of the response are dropped with the
			// upstream conn, which never returns to a pool.
			s.finishResponse()
			return
		case err != nil:
			s.cutOff() // short body or stalled upstream: cut the client off
			return
		}
	}
}

// send writes p to the client with blocking I/O. A client that takes none
// of it for the send timeout (the keep-alive idle timeout, like nginx's
// send_timeout) is as good as gone; the clock restarts with every write of
// at most respBuf bytes. Called by the stream goroutine.
func (s *stream) send(p []byte) bool {
	_ = s.out.SetWriteDeadline(time.Now().Add(s.cl.sendTimeout()))
	n, err := s.out.Write(p)
	s.sent += int64(n)
	return err == nil
}

// cutOff ends a streamed response that failed: the client sees a short
// response, never a wrong one. onLoop runs nothing when the exchange is
// already gone. Called by the stream goroutine.
func (s *stream) cutOff() {
	_ = s.out.Close()
	s.onLoop(func() bool {
		s.ex.bytesOut += s.sent
		s.cl.close()
		return true
	})
}

// finishResponse ends a streamed response on the loop: every byte is in the
// client's socket already, so the next response may follow. Called by the
// stream goroutine.
func (s *stream) finishResponse() {
	_ = s.out.Close()
	s.onLoop(func() bool {
		ex := s.ex
		ex.stream = nil
		ex.bytesOut += s.sent
		ex.keepAlive = ex.keepAlive && ex.reqDone
		ex.complete()
		return true
	})
}

// closeStreamFiles unblocks a stream goroutine stuck in I/O when its exchange
// is released. Loop only.
func (s *stream) closeStreamFiles() {
	now := time.Now()
	_ = s.file.SetDeadline(now)
	if s.out != nil {
		_ = s.out.SetDeadline(now)
	}
}
