package validate

import (
	"sync"
	"time"

	"github.com/sluicehq/sluice/filter"
)

// Checking a document costs about 0.1 ms per KiB of dense JSON
// (BenchmarkValidateBody: the schema library allocates for every value it
// visits), time during which every other connection of the event loop
// waits. Small bodies, the common case, are checked on the loop; a larger
// one is copied and checked on a goroutine while the request is parked, so
// the loop's worst stall stays near inlineMax's cost.
const inlineMax = 2 << 10

// checkTimeout bounds an off-loop check; past it the client gets 503. A
// 4 MiB document takes well under a second.
const checkTimeout = 10 * time.Second

const msgCheckTimeout = "request body validation did not finish in time"

// outcome of checking a body.
const (
	passed uint8 = iota + 1
	notJSON
	noMatch
)

// check is one off-loop check: the body copied, then the outcome. The
// goroutine writes outcome and detail before it calls resume; the loop reads
// them only after the resume, so the resume's hand-over orders them.
type check struct {
	body    []byte
	outcome uint8
	detail  []byte
	resume  func()
}

var checks = sync.Pool{New: func() any { return new(check) }}

// RequestBody checks the body against the schema: it must be one JSON
// document (strictly: see decodeJSON) that the schema accepts. A body up to
// inlineMax is checked here; a larger one on a goroutine (the request
// parks, and this runs again on resume to answer with the outcome). Any
// loop; the JSON decoding allocates the document's values.
func (f *Filter) RequestBody(x *filter.Exchange, body []byte) filter.Verdict {
	if f.schema == nil {
		return filter.Continue // it asked only so the engine counts the body
	}
	st := x.State()
	if c, ok := st.V.(*check); ok { // resumed: the goroutine is done
		st.V = nil
		v := answer(x, c.outcome, c.detail) // copies the detail
		checks.Put(c)
		return v
	}
	if len(body) <= inlineMax {
		outcome, detail := f.check(body)
		return answer(x, outcome, detail)
	}
	c := checks.Get().(*check)
	c.body = append(c.body[:0], body...)
	c.resume = x.Park(checkTimeout, msgCheckTimeout)
	st.V = c
	go func() {
		c.outcome, c.detail = f.check(c.body)
		c.resume() // the loop answers; c is the loop's again
	}()
	return filter.Pause
}

// check decodes and validates body. Any goroutine.
func (f *Filter) check(body []byte) (outcome uint8, detail []byte) {
	doc, err := decodeJSON(body)
	if err != nil {
		return notJSON, []byte(err.Error())
	}
	if err := f.schema.Validate(doc); err != nil {
		return noMatch, describe(err)
	}
	return passed, nil
}

// answer turns an outcome into the verdict.
func answer(x *filter.Exchange, outcome uint8, detail []byte) filter.Verdict {
	switch outcome {
	case notJSON:
		return x.RejectDetail(400, msgNotJSON, detail)
	case noMatch:
		return x.RejectDetail(400, msgSchema, detail)
	}
	return filter.Continue
}
