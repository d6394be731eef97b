package ratesync

import (
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/sluicehq/sluice/observe"
)

// Status is a syncer's standing, for /readyz (through observe.Checks).
type Status struct {
	Limit  string
	OK     bool
	Detail string
	// Rounds counts the successful rounds so far.
	Rounds uint64
}

// syncMetrics are one limit's series; instances of the same name (an old
// and a new snapshot during a reload) share them.
type syncMetrics struct {
	up, instances        *metrics.Gauge
	rounds, errors, keys *metrics.Counter
	dropped              *metrics.Counter
	duration             *metrics.PrometheusHistogram
}

func newSyncMetrics(name string) syncMetrics {
	l := fmt.Sprintf(`{limit=%q}`, name)
	return syncMetrics{
		up:        metrics.GetOrCreateGauge("sluice_ratelimit_redis_up"+l, nil),
		instances: metrics.GetOrCreateGauge("sluice_ratelimit_cluster_instances"+l, nil),
		rounds:    metrics.GetOrCreateCounter("sluice_ratelimit_sync_rounds_total" + l),
		errors:    metrics.GetOrCreateCounter("sluice_ratelimit_sync_errors_total" + l),
		keys:      metrics.GetOrCreateCounter("sluice_ratelimit_sync_keys_total" + l),
		dropped:   metrics.GetOrCreateCounter("sluice_ratelimit_sync_dropped_total" + l),
		duration:  metrics.GetOrCreatePrometheusHistogram("sluice_ratelimit_sync_duration_seconds" + l),
	}
}

// addCheck registers s's status for /readyz.
func addCheck(s *Syncer) func() {
	return observe.AddCheck(func() observe.Check {
		st := s.status.Load()
		return observe.Check{Name: "rate_limit " + st.Limit + " (redis)", OK: st.OK, Detail: st.Detail}
	})
}

// Status returns the syncer's standing. Any goroutine.
func (s *Syncer) Status() Status { return *s.status.Load() }

// fail puts the limit in its on_failure mode: closed, or open on this
// instance's share of the last known number of live instances (a request
// costs that many tokens, at most a full bucket).
func (s *Syncer) fail() {
	if s.closed {
		s.mode.Store(modeClosed)
		return
	}
	s.mode.Store(min(s.instances.Load(), s.burst))
}

// report records a round's outcome: mode, metrics, status and, on a change
// (and every logEvery while Redis stays away), a log line.
func (s *Syncer) report(err error) {
	now := time.Now()
	if err == nil {
		if !s.downSince.IsZero() {
			s.log.Info("rate_limit: redis reachable again; cluster limit synchronised",
				"limit", s.name, "down_for", now.Sub(s.downSince).Round(time.Millisecond).String(), "failed_rounds", s.failures)
		}
		s.downSince, s.failures = time.Time{}, 0
		s.mode.Store(modeSynced)
		n := s.instances.Load()
		s.m.up.Set(1)
		s.m.instances.Set(float64(n))
		s.m.rounds.Inc()
		s.rounds++
		s.status.Store(&Status{Limit: s.name, OK: true, Rounds: s.rounds,
			Detail: fmt.Sprintf("synchronised every %s; live instances: %d", s.interval, n)})
		return
	}
	s.fail()
	s.failures++
	s.m.up.Set(0)
	s.m.errors.Inc()
	how := "failing closed: 503 on routes with this limit"
	if m := s.mode.Load(); m > 0 {
		how = fmt.Sprintf("failing open on this instance's share (1/%d of the limit)", m)
	}
	if s.downSince.IsZero() {
		s.downSince, s.lastLog = now, now
		s.log.Warn("rate_limit: redis unreachable; "+how, "limit", s.name, "error", err.Error())
	} else if now.Sub(s.lastLog) >= logEvery {
		s.lastLog = now
		s.log.Warn("rate_limit: redis still unreachable; "+how, "limit", s.name, "error", err.Error(),
			"down_for", now.Sub(s.downSince).Round(time.Second).String(), "failed_rounds", s.failures)
	}
	s.status.Store(&Status{Limit: s.name, Rounds: s.rounds, Detail: fmt.Sprintf("redis unreachable since %s (%v); %s",
		s.downSince.UTC().Format(time.RFC3339), err, how)})
}
