package jwt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/filter"
)

// The client learns only "Authentication required", "Token expired" or
// "Invalid token" (a probe must learn nothing of the keys or the policy).
// The operator learns why: a debug log line per refused token and
// sluice_jwt_rejections_total{middleware,reason}.

// reasonNames are the reason label values: the filter's own, then
// auth.Reason's, then "other". Fixed, so the label set is bounded.
var reasonNames = [...]string{
	"missing", "ambiguous", "unsafe_claim",
	"malformed", "algorithm", "unknown_kid", "no_key", "key_mismatch", "bad_signature",
	"expired", "not_yet_valid", "issued_in_future", "bad_issuer", "bad_audience",
	"missing_claim", "claim_type", "other",
}

// Indexes of the filter's own reasons in reasonNames.
const (
	reasonMissing = iota
	reasonAmbiguous
	reasonUnsafeClaim
)

// Errors for the reasons the verifier does not report.
var (
	errMissing   = errors.New("no token")
	errAmbiguous = errors.New("more than one Authorization header")
)

// reasonIndex is the index of name in reasonNames ("other" if absent).
func reasonIndex(name string) int {
	for i, n := range reasonNames {
		if n == name {
			return i
		}
	}
	return len(reasonNames) - 1
}

// rejections counts one filter's refusals by reason; each series is
// created on first use, then counting is an atomic load and add.
type rejections struct {
	middleware string // label value, quoted
	c          [len(reasonNames)]atomic.Pointer[metrics.Counter]
	// The debug line is written on the event loop, synchronously: a flood
	// of bad tokens must not turn into a flood of blocking writes. At most
	// debugLinesPerSecond lines a second per filter; the metric still
	// counts every refusal.
	second, lines atomic.Int64
}

// debugLinesPerSecond bounds a filter's rejection lines.
const debugLinesPerSecond = 10

// logBudget reports whether one more debug line fits this second (now in
// unix nanoseconds). Any goroutine; two loops crossing a second boundary
// at once may let a line or two more through, which is harmless.
func (r *rejections) logBudget(now int64) bool {
	if now == 0 {
		now = time.Now().UnixNano()
	}
	sec := now / int64(time.Second)
	if old := r.second.Load(); old != sec && r.second.CompareAndSwap(old, sec) {
		r.lines.Store(0)
	}
	return r.lines.Add(1) <= debugLinesPerSecond
}

func newRejections(middleware string) *rejections {
	return &rejections{middleware: strconv.Quote(middleware)}
}

func (r *rejections) inc(reason int) {
	p := &r.c[reason]
	c := p.Load()
	if c == nil {
		c = metrics.GetOrCreateCounter(fmt.Sprintf(`sluice_jwt_rejections_total{middleware=%s,reason=%q}`, r.middleware, reasonNames[reason]))
		p.Store(c)
	}
	c.Inc()
}

// rejected records why a token was refused: the metric always, a debug
// line when debug logging is on (checked first, so the common case
// allocates nothing) and the per-second budget allows. Any loop.
func (f *Filter) rejected(x *filter.Exchange, reason int, err error) {
	f.rejects.inc(reason)
	log := slog.Default()
	if !log.Enabled(context.Background(), slog.LevelDebug) || !f.rejects.logBudget(x.Now) {
		return
	}
	log.Debug("jwt token rejected",
		"middleware", f.middleware,
		"reason", reasonNames[reason],
		"err", err.Error(),
		"route", x.Route,
		"request_id", string(x.RequestID),
		"client_ip", x.ClientIP.String())
}

// verifyReason is rejected's reason for a verification error.
func verifyReason(err error) int {
	if errors.Is(err, errUnsafeClaim) {
		return reasonUnsafeClaim
	}
	return reasonIndex(auth.Reason(err))
}
