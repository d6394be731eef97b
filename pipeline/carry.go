package pipeline

import (
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/upstream"
)

// shared is a cluster or filter that several snapshots may hold at once
// (the serving one and those retired but still draining, or one built and
// then discarded). It counts its holders; the last to let go closes it.
type shared struct {
	mu    sync.Mutex
	refs  int // 0 = closed for good
	close func()
}

// newShared returns a handle held once, by the snapshot that built it.
func newShared(close func()) *shared { return &shared{refs: 1, close: close} }

// acquire adds a holder. It reports false once the object has been closed:
// a closed cluster cannot restart its health checks, nor a closed filter
// its JWKS refresher, so the caller must build a fresh one. Any goroutine.
func (r *shared) acquire() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs == 0 {
		return false
	}
	r.refs++
	return true
}

// release drops a holder; the last one closes the object, outside the lock
// because closing may wait for goroutines. Any goroutine.
func (r *shared) release() {
	r.mu.Lock()
	r.refs--
	last := r.refs == 0
	r.mu.Unlock()
	if last && r.close != nil {
		r.close()
	}
}

// clusterEntry is a snapshot's hold on one cluster and the settings it was
// built from.
type clusterEntry struct {
	ref *shared
	c   *upstream.Cluster
	cfg config.Cluster // positions zeroed, slices copied: see clusterKey
}

// clusterKey is cc as compared between reloads: everything that shapes the
// built cluster, without where it is written (moving a cluster around the
// file, or editing lines above it, must not reset it).
func clusterKey(cc *config.Cluster) config.Cluster {
	k := *cc
	k.Pos = config.Pos{}
	k.Targets = slices.Clone(cc.Targets)
	for i := range k.Targets {
		k.Targets[i].Pos = config.Pos{}
	}
	// Copies, so the key never aliases a config someone might still edit
	// (cmd applies flag overrides to a fresh config before building).
	k.Breaker.FailureStatuses = slices.Clone(cc.Breaker.FailureStatuses)
	k.Health.ExpectStatus = slices.Clone(cc.Health.ExpectStatus)
	k.Retries.On = slices.Clone(cc.Retries.On)
	return k
}

// cluster returns the cluster named name for s: prev's very object when its
// settings are unchanged and it is still open, else a new one. Either way s
// holds a reference, released by Close.
func (s *Snapshot) cluster(name string, cc *config.Cluster, prev *Snapshot) (*upstream.Cluster, error) {
	key := clusterKey(cc)
	if prev != nil {
		if pe := prev.clusterSrc[name]; pe != nil && reflect.DeepEqual(pe.cfg, key) && pe.ref.acquire() {
			s.clusterSrc[name] = &clusterEntry{ref: pe.ref, c: pe.c, cfg: key}
			return pe.c, nil
		}
	}
	c, err := buildCluster(name, cc)
	if err != nil {
		return nil, err
	}
	s.clusterSrc[name] = &clusterEntry{ref: newShared(c.Close), c: c, cfg: key}
	return c, nil
}

// filterEntry is a snapshot's hold on one middleware instance and what it
// was built from.
type filterEntry struct {
	ref      *shared
	f        filter.Filter
	typ      string
	settings any
	// inputs fingerprints what Build reads besides the settings (secrets,
	// key files, consumer files: see filter.Reusable); reusable is false for
	// types whose settings do not implement filter.Reusable, or when the
	// inputs could not be read.
	inputs   filter.Fingerprint
	reusable bool
}

// sameAs reports whether an instance described by e may stand in for pe.
func (e *filterEntry) sameAs(pe *filterEntry) bool {
	return e.reusable && pe.reusable && e.typ == pe.typ && e.inputs == pe.inputs &&
		reflect.DeepEqual(e.settings, pe.settings)
}

// describe is what BuildFrom compares of an instance. The type owns what
// its Build reads (filter.Reusable); the fingerprint is taken before the
// filter is built: if a file changes in between, the recorded fingerprint
// is the older one and the next reload rebuilds, never the other way round
// (a stale filter kept because the newer content was fingerprinted).
func describe(m *config.Middleware) *filterEntry {
	e := &filterEntry{typ: m.Type, settings: m.Settings}
	e.inputs, e.reusable = filter.FingerprintInputs(m.Settings)
	return e
}

// buildFilters returns each middleware instance's filter: prev's object
// when the instance is unchanged (same name first, then an identical
// instance under another name), else a new one. Routes naming the same
// instance share it (and so share, say, a rate limiter's buckets). One
// prev filter is carried into at most one instance, so two instances that
// happen to have the same settings keep separate state. On error the
// caller closes s, which releases what was taken so far.
func (s *Snapshot) buildFilters(cfg *config.Config, prev *Snapshot) (map[string]filter.Filter, error) {
	names := slices.Sorted(maps.Keys(cfg.Middleware))
	want := make(map[string]*filterEntry, len(names))
	for _, name := range names {
		want[name] = describe(cfg.Middleware[name])
	}
	out := make(map[string]filter.Filter, len(names))
	if prev != nil {
		taken := map[*filterEntry]bool{}
		adopt := func(name string, pe *filterEntry) bool {
			e := want[name]
			if taken[pe] || !e.sameAs(pe) || !pe.ref.acquire() {
				return false
			}
			taken[pe] = true
			e.ref, e.f, e.inputs = pe.ref, pe.f, pe.inputs
			s.filterSrc[name], out[name] = e, pe.f
			return true
		}
		for _, name := range names {
			if pe := prev.filterSrc[name]; pe != nil {
				adopt(name, pe)
			}
		}
		prevNames := slices.Sorted(maps.Keys(prev.filterSrc))
		for _, name := range names {
			if out[name] != nil {
				continue
			}
			for _, pn := range prevNames {
				if adopt(name, prev.filterSrc[pn]) {
					break
				}
			}
		}
	}
	for _, name := range names {
		if out[name] != nil {
			continue
		}
		f, err := filter.Build(cfg.Middleware[name])
		if err != nil {
			return nil, err
		}
		e := want[name]
		e.f, e.ref = f, newShared(closeFilter(f))
		s.filterSrc[name], out[name] = e, f
	}
	return out, nil
}

// closeFilter returns what stops f's background work, nil if it has none.
func closeFilter(f filter.Filter) func() {
	if c, ok := f.(filter.Closer); ok {
		return func() { _ = c.Close() }
	}
	return nil
}

// Middleware returns the filter built for the middleware instance name,
// nil if the config has none by that name (for the admin API and metrics:
// an audit log's drop counter, say). Any goroutine.
func (s *Snapshot) Middleware(name string) filter.Filter {
	if e := s.filterSrc[name]; e != nil {
		return e.f
	}
	return nil
}
