package filter

// Canceler is implemented by filters that start work for a request they
// paused (a fetch behind Park, a check on a goroutine) and can stop it.
// Cancel runs once, for the filter that paused, when the request ends
// before the filter resumed it: the client left, the park timed out (the
// client gets the 503 after Cancel), the connection was torn down. It is
// not called for a request the filter resumed, and resuming after Cancel
// does nothing. Sub-requests started with Call are cancelled by the
// gateway itself before Cancel runs.
//
// x.Req is nil by then; x.State holds what the filter kept, Method and
// Path stay valid. Any loop; must not block (signal the work to stop,
// do not wait for it).
type Canceler interface {
	Cancel(x *Exchange)
}

// Cancel tells the filter at index at, the one that paused x, that the
// request ended unresumed (see Canceler). Engine only.
func (c *Chain) Cancel(x *Exchange, at int) {
	if c == nil || at < 0 || at >= len(c.filters) {
		return
	}
	if f, ok := c.filters[at].(Canceler); ok {
		x.cur = at
		x.Req = nil
		f.Cancel(x)
	}
}
