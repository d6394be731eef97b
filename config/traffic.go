package config

// Traffic control under a cluster: hash_on, breaker, health and retries —
// what makes them valid (their keys are their fields' yaml tags, types.go).

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// traffic checks a cluster's traffic-control settings.
func (k *checker) traffic(p string, c *Cluster) {
	k.hashOn(p, c)
	k.breaker(p+".breaker", &c.Breaker)
	k.health(p+".health", &c.Health)
	k.retries(p+".retries", &c.Retries)
}

func (k *checker) hashOn(p string, c *Cluster) {
	hp := p + ".hash_on"
	if c.Balancer != "consistent_hash" {
		if c.HashOn != "" && !k.l.isBad(p+".balancer") {
			k.errf(hp, "hash_on is only used by balancer consistent_hash (this cluster uses %s); remove it", c.Balancer)
		}
		return
	}
	const forms = "header:NAME, cookie:NAME or ip"
	if c.HashOn == "" {
		k.errf(hp, "required with balancer consistent_hash: what to hash (%s)", forms)
		return
	}
	if c.HashOn == "ip" {
		return
	}
	kind, name, ok := strings.Cut(c.HashOn, ":")
	switch {
	case !ok || (kind != "header" && kind != "cookie"):
		k.errf(hp, "invalid hash_on %q (use %s)", c.HashOn, forms)
	case !isToken(name):
		k.errf(hp, "invalid %s name %q in hash_on", kind, name)
	}
}

func (k *checker) breaker(p string, b *Breaker) {
	k.statusList(p+".failure_statuses", b.FailureStatuses, 400, 599)
	if !b.Enabled {
		return // failure_statuses still defines failure for passive health
	}
	k.intRange(p+".consecutive_failures", b.ConsecutiveFailures, 0, 1000)
	if !(b.FailureRatio >= 0 && b.FailureRatio <= 1) {
		k.errf(p+".failure_ratio", "must be between 0 and 1 (0 turns the ratio trigger off), got %g", b.FailureRatio)
	}
	if b.ConsecutiveFailures == 0 && b.FailureRatio == 0 {
		k.errf(p, "both triggers are off (consecutive_failures and failure_ratio are 0), so the breaker could never open; set one, or write enabled: false")
	}
	k.durRange(p+".window", b.Window, time.Second, time.Hour)
	k.intRange(p+".min_requests", b.MinRequests, 1, 1_000_000)
	k.durRange(p+".recovery_timeout", b.RecoveryTimeout, time.Millisecond, time.Hour)
	k.intRange(p+".half_open_probes", b.HalfOpenProbes, 1, 1000)
}

// activeOnly are the health keys that mean nothing without a path.
var activeOnly = []string{"interval", "timeout", "healthy_after", "unhealthy_after", "expect_status"}

func (k *checker) health(p string, h *Health) {
	if h.Path == "" {
		for _, key := range activeOnly {
			if _, written := k.c.pos[p+"."+key]; written {
				k.errf(p+"."+key, "%s only applies to active health checks, which are off without health.path; set path (e.g. /healthz) or remove %s", key, key)
			}
		}
	} else {
		if err := checkHealthPath(h.Path); err != nil {
			k.errf(p+".path", "%v", err)
		}
		k.durRange(p+".interval", h.Interval, 10*time.Millisecond, time.Hour)
		if h.Timeout <= 0 {
			k.errf(p+".timeout", "must be > 0, got %s", h.Timeout)
		} else if h.Timeout > h.Interval && !k.l.isBad(p+".interval") {
			k.errf(p+".timeout", "must not exceed interval (%s), got %s", h.Interval, h.Timeout)
		}
		k.intRange(p+".healthy_after", h.HealthyAfter, 1, 100)
		k.intRange(p+".unhealthy_after", h.UnhealthyAfter, 1, 100)
		k.statusList(p+".expect_status", h.ExpectStatus, 100, 599)
	}
	k.intRange(p+".eject_after", h.EjectAfter, 0, 1000)
	if h.EjectAfter > 0 {
		k.durRange(p+".eject_for", h.EjectFor, time.Millisecond, time.Hour)
	}
}

// checkHealthPath checks an active health check's request path.
func checkHealthPath(s string) error {
	if s[0] != '/' {
		return fmt.Errorf("path %q must start with '/'", s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }); i >= 0 {
		return fmt.Errorf("path %q contains %q; percent-encode it", s, s[i])
	}
	return nil
}

// retryCauses are the failures retries.on may name.
var retryCauses = []string{"connect_failure", "timeout", "502", "503"}

func (k *checker) retries(p string, r *Retries) {
	_, written := k.c.pos[p+".attempts"]
	if r.Attempts < 0 || r.Attempts > 10 || (r.Attempts == 0 && written) {
		k.errf(p+".attempts", "must be between 1 and 10 (1 = no retries), got %d", r.Attempts)
	}
	if !(r.Budget >= 0 && r.Budget <= 1) {
		k.errf(p+".budget", "must be between 0 and 1 (a share of the requests), got %g", r.Budget)
	}
	if !(r.MinPerSecond >= 0 && r.MinPerSecond <= 1_000_000) {
		k.errf(p+".min_per_second", "must be between 0 and 1000000, got %g", r.MinPerSecond)
	}
	seen := map[string]int{}
	for i, cause := range r.On {
		cp := fmt.Sprintf("%s.on[%d]", p, i)
		if !slices.Contains(retryCauses, cause) {
			k.errf(cp, "unknown retry cause %q%s (use %s)", cause, suggest(cause, retryCauses), strings.Join(retryCauses, ", "))
		} else if j, dup := seen[cause]; dup {
			k.errf(cp, "%s is already listed at on[%d]", cause, j)
		}
		seen[cause] = i
	}
	if r.Attempts > 1 && len(r.On) == 0 && !k.l.isBad(p+".on") {
		k.errf(p+".on", "attempts is %d but on is empty, so nothing would be retried; list causes (e.g. [connect_failure]) or set attempts: 1", r.Attempts)
	}
}

func (k *checker) intRange(path string, v, lo, hi int) {
	if v < lo || v > hi {
		k.errf(path, "must be between %d and %d, got %d", lo, hi, v)
	}
}

func (k *checker) durRange(path string, v Duration, lo, hi time.Duration) {
	if v.D() < lo || v.D() > hi {
		k.errf(path, "must be between %s and %s, got %s", Duration(lo), Duration(hi), v)
	}
}

// statusList checks a list of HTTP statuses: each in lo..hi, none twice.
func (k *checker) statusList(path string, list []int, lo, hi int) {
	seen := map[int]int{}
	for i, s := range list {
		sp := fmt.Sprintf("%s[%d]", path, i)
		if s < lo || s > hi {
			k.errf(sp, "status must be between %d and %d, got %d", lo, hi, s)
		} else if j, dup := seen[s]; dup {
			k.errf(sp, "%d is already listed at [%d]", s, j)
		}
		seen[s] = i
	}
}
