package transform

import (
	"bytes"

	"github.com/sluicehq/sluice/filter"
)

// queryEdits are the request.*_query keys, compiled. Names are compared
// with the client's after form-decoding both (%XX, '+' as a space), so
// `remove_query: [debug]` also drops "d%65bug=1", which the upstream reads
// as debug. Untouched parameters keep their place and their bytes.
type queryEdits struct {
	remove   []string
	rename   []queryRename
	set, add []queryEntry // sorted by name; set has at most 64 (a bit each)
}

type queryRename struct {
	from string
	to   []byte // percent-encoded
}

type queryEntry struct {
	name  string
	enc   []byte // name, percent-encoded
	value template
}

// maxSetQuery is how many set_query entries the per-request bit set holds.
const maxSetQuery = 64

func (q *queryEdits) empty() bool {
	return len(q.remove)+len(q.rename)+len(q.set)+len(q.add) == 0
}

// apply rebuilds the upstream query string: the current one with removed
// parameters dropped, renamed ones renamed in place, set ones replaced by
// one parameter where the first of that name was (appended when there was
// none), then the added ones. A set or added value whose template misses
// a value is not sent (a set one is still removed). Empty pairs ("&&") are
// dropped. Request phase; no allocation.
func (q *queryEdits) apply(x *filter.Exchange) {
	b := x.QueryBuffer()
	var done uint64 // set entries already written
	rest := x.UpstreamQuery()
	for len(rest) > 0 {
		var pair []byte
		if pair, rest = nextPair(rest); len(pair) == 0 {
			continue
		}
		name, value := pair, []byte(nil)
		if eq := bytes.IndexByte(pair, '='); eq >= 0 {
			name, value = pair[:eq], pair[eq:]
		}
		switch i, kind := q.find(name); kind {
		case foundRemove:
		case foundSet:
			if done&(1<<i) == 0 {
				done |= 1 << i
				b = appendParam(b, &q.set[i], x)
			}
		case foundRename:
			b = append(appendSep(b), q.rename[i].to...)
			b = append(b, value...)
		default:
			b = append(appendSep(b), pair...)
		}
	}
	for i := range q.set {
		if done&(1<<i) == 0 {
			b = appendParam(b, &q.set[i], x)
		}
	}
	for i := range q.add {
		b = appendParam(b, &q.add[i], x)
	}
	x.SetUpstreamQuery(b)
}

type found uint8

const (
	foundNone found = iota
	foundRemove
	foundSet
	foundRename
)

// find says which edit names the raw parameter name.
func (q *queryEdits) find(raw []byte) (int, found) {
	for i, n := range q.remove {
		if formEqual(raw, n) {
			return i, foundRemove
		}
	}
	for i := range q.set {
		if formEqual(raw, q.set[i].name) {
			return i, foundSet
		}
	}
	for i := range q.rename {
		if formEqual(raw, q.rename[i].from) {
			return i, foundRename
		}
	}
	return 0, foundNone
}

// appendParam appends "&name=value", or nothing when the value is missing.
func appendParam(b []byte, p *queryEntry, x *filter.Exchange) []byte {
	mark := len(b)
	b = append(append(appendSep(b), p.enc...), '=')
	b, ok := p.value.render(b, x, inQuery)
	if !ok {
		return b[:mark]
	}
	return b
}

func appendSep(b []byte) []byte {
	if len(b) > 0 {
		return append(b, '&')
	}
	return b
}

// queryParam returns the raw value of the first parameter of query whose
// form-decoded name is name; ok is false when there is none.
func queryParam(query []byte, name string) (value []byte, ok bool) {
	for len(query) > 0 {
		var pair []byte
		pair, query = nextPair(query)
		k, v := pair, pair[len(pair):]
		if eq := bytes.IndexByte(pair, '='); eq >= 0 {
			k, v = pair[:eq], pair[eq+1:]
		}
		if formEqual(k, name) {
			return v, true
		}
	}
	return nil, false
}

// nextPair splits the first name=value pair off a query string.
func nextPair(q []byte) (pair, rest []byte) {
	if i := bytes.IndexByte(q, '&'); i >= 0 {
		return q[:i], q[i+1:]
	}
	return q, nil
}

// formEqual reports whether raw, form-decoded, is name.
func formEqual(raw []byte, name string) bool {
	j := 0
	for i := 0; i < len(raw); {
		var c byte
		c, i = decodeAt(raw, i, true)
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}
