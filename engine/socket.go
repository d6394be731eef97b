package engine

import (
	"context"
	"net"
	"net/netip"
	"os"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/sluicehq/sluice/observe"
	"github.com/sluicehq/sluice/proxy"
)

// sock is one connection as the proxy sees it beside its gnet.Conn (the
// proxy.Socket), and the context gnet carries for it. All fields are loop
// only.
type sock struct {
	lp      *loop
	c       gnet.Conn     // nil while dialing
	h       proxy.Handler // the proxy's side of the connection
	dialing proxy.Dialing // until OnOpen of a dialed connection

	closed   bool // gnet closed c, or we asked it to: c is never touched again
	detached bool // a goroutine owns a dup of the socket; c is gone

	// Client connections only: counted in Engine.clients until released,
	// admitted under the caps (counted) or refused and lingering.
	client, released, counted, refused bool
	addr                               netip.Addr
}

// Close implements proxy.Socket. Loop only.
func (s *sock) Close() {
	s.release()
	if s.closed || s.detached || s.c == nil {
		return
	}
	s.closed = true
	_ = s.lp.el.Close(s.c) // OnClose sees closed: the proxy already knows
}

// release forgets a client connection in the counts, once. Loop only.
func (s *sock) release() {
	if !s.client || s.released {
		return
	}
	s.released = true
	e := s.lp.e
	if s.counted { // a connection silent at the drain is both (proxy's drainrefuse.go)
		e.caps.release(s.addr)
	}
	if s.refused {
		e.caps.lingering.Add(-1)
	}
	e.clients.Add(-1) // after lingering: see Engine.serving
	observe.ClientConnections.Dec()
}

// Refused implements proxy.Socket: past maxRefusedLingering refused
// connections a refused one closes after its 503 instead of lingering, so a
// flood cannot hold descriptors through the refusal path. Loop only.
func (s *sock) Refused() bool {
	if s.refused {
		return true
	}
	s.refused = true
	return s.lp.e.caps.lingering.Add(1) <= maxRefusedLingering
}

// ShutWrite implements proxy.Socket. Loop only.
func (s *sock) ShutWrite() error { return unix.Shutdown(s.c.Fd(), unix.SHUT_WR) }

// Unread implements proxy.Socket: bytes in the kernel's receive queue.
// Loop only.
func (s *sock) Unread() bool {
	n, err := unix.IoctlGetInt(s.c.Fd(), unix.SIOCINQ)
	return err == nil && n > 0
}

// Dup implements proxy.Socket. Loop only.
func (s *sock) Dup() (*os.File, error) {
	fd, err := s.c.Dup()
	if err != nil {
		return nil, err
	}
	// A non-blocking fd makes os.File use the runtime poller: reads park the
	// goroutine, and deadlines work.
	return os.NewFile(uintptr(fd), "sluice-conn"), nil
}

// Detach implements proxy.Socket: gnet removes the fd from epoll before
// closing it, so the dup stays a clean socket that gnet no longer polls,
// and the sender it belongs to now waits on its TCP window. Loop only.
func (s *sock) Detach() (*os.File, error) {
	f, err := s.Dup()
	if err != nil {
		return nil, err
	}
	s.detached = true
	_ = s.lp.el.Close(s.c) // OnClose sees detached and keeps the proxy's side
	s.c = nil
	return f, nil
}

// reattach is the context of a socket coming back from a Detach.
type reattach struct{ s *sock }

// Reattach implements proxy.Socket: the socket is enrolled on its loop
// again and OnOpen (reattached) hands it back. Called by the goroutine
// that owns f.
func (s *sock) Reattach(f *os.File) error {
	nc, err := net.FileConn(f)
	if err != nil {
		return err
	}
	ctx := gnet.NewContext(context.Background(), &reattach{s: s})
	res, err := s.lp.el.Enroll(ctx, nc)
	if err == nil {
		r := <-res
		if err = r.Err; err == nil {
			return nil
		}
	}
	_ = nc.Close()
	return err
}

// reattached runs in OnOpen for a socket back from a Detach. Loop only.
func (r *reattach) reattached(c gnet.Conn) {
	s := r.s
	s.c, s.detached = c, false
	c.SetContext(s)
	s.h.(proxy.Reattacher).Reattached(c)
}
