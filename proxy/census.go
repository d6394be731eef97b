package proxy

// Census is what a Worker holds at one moment, for tests that drive a real
// transport and the debugging of a live one.
type Census struct {
	Clients       int  // client connections open
	Parked        int  // exchanges parked by a filter (Park)
	IdleUpstreams int  // pooled upstream connections, every target
	Free          int  // exchanges in the free list
	FreeTwice     bool // an exchange is in the free list twice: a double release, a bug
	IdleQueued    int  // clients between requests whose last response still waits in the output buffer
	MaxInbound    int  // the most input buffered for one client on the loop
	MaxOutbound   int  // the most output buffered for one client
}

// Census counts what the Worker holds now. Loop only.
func (lp *Worker) Census() Census {
	var c Census
	for cl := lp.clients.head; cl != nil; cl = cl.next {
		c.Clients++
		if cl.ex != nil && cl.ex.paused {
			c.Parked++
		}
		if cl.closed || cl.detached {
			continue
		}
		if cl.ex == nil && cl.c.OutboundBuffered() > 0 {
			c.IdleQueued++
		}
		c.MaxInbound = max(c.MaxInbound, cl.c.InboundBuffered())
		c.MaxOutbound = max(c.MaxOutbound, cl.c.OutboundBuffered())
	}
	for _, p := range lp.pools {
		c.IdleUpstreams += len(p.idle)
	}
	c.Free = len(lp.free)
	seen := make(map[*exchange]bool, len(lp.free))
	for _, ex := range lp.free {
		c.FreeTwice = c.FreeTwice || seen[ex]
		seen[ex] = true
	}
	return c
}

// PoolCensus counts the upstream connections to the target at addr: idle
// in the pool, carrying an exchange, being dialed. Loop only.
func (lp *Worker) PoolCensus(addr string) (idle, busy, dialing int) {
	for t, p := range lp.pools {
		if t.Addr == addr {
			idle += len(p.idle)
			busy += p.busy
			dialing += p.dialing
		}
	}
	return idle, busy, dialing
}

// The memory bounds the exchange keeps, for tests that check them from
// outside (the engine's end-to-end tests).
const (
	// InHighWater bounds the input a client may have buffered that is not
	// being consumed.
	InHighWater = inHighWater
	// OutHighWater: past this much output waiting for a client, no further
	// pipelined request is read.
	OutHighWater = outHighWater
	// HoldHighWater bounds a request body held while its upstream is dialed.
	HoldHighWater = holdHighWater
	// StreamHighWater is the receiver's pending bytes past which a body
	// moves off the loop.
	StreamHighWater = streamHighWater
)
