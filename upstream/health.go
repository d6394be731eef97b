package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
)

// Health configures how a cluster decides a target is fit for traffic. Two
// sources feed one state per target:
//
//   - Passive (on when EjectAfter > 0): EjectAfter failures of real traffic
//     in a row eject the target. With active checks running it stays out
//     until HealthyAfter checks in a row pass; without, for EjectFor.
//   - Active (on when Path is set and StartHealthChecks has run): every
//     Interval, GET http://addr/Path with the target's Host header.
//     UnhealthyAfter failed checks in a row take it out, HealthyAfter passed
//     checks in a row bring it back.
//
// Targets start healthy. The zero value turns both off.
type Health struct {
	// Path is the active check's request path (may carry a query); "" = no
	// active checks.
	Path string
	// Interval is the time between two checks of one target; values below
	// 1ms mean 1ms.
	Interval time.Duration
	// Timeout bounds one check (connect to end of headers); 0 means
	// Interval.
	Timeout time.Duration
	// HealthyAfter and UnhealthyAfter are the runs of passed / failed checks
	// that change a target's state; values below 1 mean 1.
	HealthyAfter, UnhealthyAfter int
	// ExpectStatus lists the statuses a passing check may return; empty
	// means any 2xx or 3xx (redirects are not followed).
	ExpectStatus []int
	// EjectAfter is the run of failed requests that ejects a target; 0 = no
	// passive ejection.
	EjectAfter int
	// EjectFor is how long a passively ejected target stays out when no
	// active checks run; values below 1ms mean 1ms.
	EjectFor time.Duration
}

// passiveFailure counts a failed request and ejects t after EjectAfter in a
// row. Called from Done, on the request's goroutine.
func (c *Cluster) passiveFailure(t *Target, now int64) {
	limit := int32(c.health.EjectAfter)
	if limit <= 0 || t.fails.Add(1) != limit {
		return // exactly one of the racing failures reaches the limit
	}
	t.fails.Store(0)
	until := now + int64(max(c.health.EjectFor, time.Millisecond))
	if c.checks.running.Load() {
		until = forever // the checks bring it back
	}
	for {
		old := t.downUntil.Load()
		if old == forever || old > now {
			return // already out (a late result from before)
		}
		if t.downUntil.CompareAndSwap(old, until) {
			break
		}
	}
	t.ejections.Add(1)
	if c.onEject != nil {
		c.onEject(t)
	}
	if until == forever {
		c.logger().Warn("target ejected", "cluster", c.Name, "target", t.Addr, "failures", limit, "until", "passing health checks")
	} else {
		c.logger().Warn("target ejected", "cluster", c.Name, "target", t.Addr, "failures", limit, "for", time.Duration(until-now).String())
	}
}

// StartHealthChecks starts the active checks, one goroutine per target,
// when the cluster has a health path. It is a no-op without one, when
// already started, or after Close. Any goroutine.
func (c *Cluster) StartHealthChecks() {
	if c.health.Path == "" {
		return
	}
	c.checks.mu.Lock()
	defer c.checks.mu.Unlock()
	if c.checks.started || c.checks.closed {
		return
	}
	c.checks.started = true
	interval := max(c.health.Interval, time.Millisecond)
	timeout := c.health.Timeout
	if timeout <= 0 || timeout > interval {
		timeout = interval
	}
	tr := &http.Transport{
		Proxy:                 nil, // a health check goes straight to the target
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       2 * interval,
		DisableCompression:    true,
		ResponseHeaderTimeout: timeout,
	}
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.checks.stop = func() {
		cancel()
		tr.CloseIdleConnections()
	}
	c.checks.running.Store(true)
	for _, t := range c.Targets {
		p := &prober{c: c, t: t, client: client, url: "http://" + t.Addr + c.health.Path, interval: interval, timeout: timeout}
		c.checks.wg.Go(func() { p.run(ctx) })
	}
}

// Close stops the active checks and waits for their goroutines. Idempotent;
// the cluster keeps serving Select with the health it last knew, except
// that targets waiting for checks to pass come back after EjectFor.
func (c *Cluster) Close() {
	c.checks.mu.Lock()
	if c.checks.closed {
		c.checks.mu.Unlock()
		return
	}
	c.checks.closed = true
	stop := c.checks.stop
	c.checks.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	c.checks.wg.Wait()
	c.checks.running.Store(false)
	// Nothing will pass a check any more: turn "until checks pass" into a
	// timed ejection so no target stays out for good.
	now := time.Now().UnixNano()
	for _, t := range c.Targets {
		t.downUntil.CompareAndSwap(forever, now+int64(max(c.health.EjectFor, time.Millisecond)))
	}
}

// prober checks one target. Its counters belong to its goroutine; only the
// target's downUntil is shared.
type prober struct {
	c                *Cluster
	t                *Target
	client           *http.Client
	url              string
	interval         time.Duration
	timeout          time.Duration
	passes, failures int
	epoch            uint64 // t.ejections when the pass run began
}

func (p *prober) run(ctx context.Context) {
	p.epoch = p.t.ejections.Load()
	timer := time.NewTimer(0) // first check at once
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		ok := p.check(ctx)
		if ctx.Err() != nil {
			return // a check cut short by Close says nothing about the target
		}
		p.record(ok, time.Now().UnixNano())
		timer.Reset(p.interval)
	}
}

// record updates the runs of passes and failures and flips the target's
// state when a run is long enough.
func (p *prober) record(ok bool, now int64) {
	h, t := &p.c.health, p.t
	if p.c.onCheck != nil {
		p.c.onCheck(t, ok)
	}
	if e := t.ejections.Load(); e != p.epoch {
		// Real traffic ejected the target since the run began: passes from
		// before do not count towards bringing it back.
		p.epoch, p.passes = e, 0
	}
	if ok {
		p.passes, p.failures = p.passes+1, 0
	} else {
		p.passes, p.failures = 0, p.failures+1
	}
	until := t.downUntil.Load()
	down := until == forever || now < until
	switch {
	case down && ok && p.passes >= max(h.HealthyAfter, 1):
		if t.downUntil.CompareAndSwap(until, 0) {
			p.c.logger().Info("target healthy", "cluster", p.c.Name, "target", t.Addr, "passed", p.passes)
		}
	case !down && !ok && p.failures >= max(h.UnhealthyAfter, 1):
		if t.downUntil.CompareAndSwap(until, forever) {
			p.c.logger().Warn("target unhealthy", "cluster", p.c.Name, "target", t.Addr, "failed", p.failures)
		}
	}
}

// check runs one probe: true when the target answered in time with an
// expected status.
func (p *prober) check(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return false
	}
	req.Host = string(p.t.Host)
	req.Header.Set("User-Agent", "sluice-health-check")
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	// Drain a little so the connection can be reused; a huge body is not
	// worth reading.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if want := p.c.health.ExpectStatus; len(want) > 0 {
		return slices.Contains(want, resp.StatusCode)
	}
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}
