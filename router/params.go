package router

// MaxParams is the most path parameters (":name" and "*wildcard" together)
// one route may declare. Params is a fixed-size value so that Match never
// allocates; Add rejects routes with more.
const MaxParams = 8

// Params holds the parameters captured by Match. The zero value is empty and
// ready to use. Values are views into the path passed to Match: they are valid
// only as long as that buffer is, and must be copied to outlive it.
//
// Values keep the percent-encodings Normalize kept (an encoded '/' in a
// parameter reads "%2F"); decoding them is up to the consumer.
//
// A Params is owned by one request at a time (loop only); it is not safe for
// concurrent use.
type Params struct {
	n    int
	keys [MaxParams]string
	vals [MaxParams][]byte
}

// Len reports how many parameters were captured.
func (p *Params) Len() int { return p.n }

// Get returns the value captured for name, or nil when the route has no such
// parameter. The unnamed wildcard "/*" is captured under the name "*".
// A wildcard that matched an empty remainder returns an empty, non-nil slice.
func (p *Params) Get(name string) []byte {
	for i := 0; i < p.n; i++ {
		if p.keys[i] == name {
			return p.vals[i]
		}
	}
	return nil
}

// At returns the i-th parameter in path order. It panics when i is out of
// range [0, Len()), like a slice index.
func (p *Params) At(i int) (string, []byte) {
	if i < 0 || i >= p.n {
		panic("router: Params.At index out of range")
	}
	return p.keys[i], p.vals[i]
}

// Reset empties p. It drops the value views too, so a pooled Params does not
// keep an old request buffer reachable.
func (p *Params) Reset() {
	for i := 0; i < p.n; i++ {
		p.vals[i] = nil
	}
	p.n = 0
}

// push appends one parameter. Add guarantees a route never declares more than
// MaxParams, and a search holds at most one route's worth at a time, so the
// bound check is a safety net, not a code path.
func (p *Params) push(key string, val []byte) {
	if p.n < MaxParams {
		p.keys[p.n] = key
		p.vals[p.n] = val
		p.n++
	}
}
