package main

// The drain of the real binary under load (helpers in sluiceproc_test.go).

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestDrainUnderLoad: the real binary is stopped with SIGTERM while eight
// keep-alive clients load it, four of them on a path the upstream answers
// in 200 ms, so several requests are in flight when the signal arrives.
//
// A request is accepted by the gateway when any of these holds:
//  1. the upstream received it (it recorded the request's X-Test-ID);
//  2. any byte of a response to it arrived;
//  3. it was written in full before SIGTERM was sent, on a connection that
//     had already carried a response (so the gateway had accepted the
//     connection and was reading it) and had not said Connection: close (a
//     client never reuses one that did).
//
// Every accepted request must end in a complete 200 with the upstream's
// body; a request failed if it got another status or its connection was
// closed or reset before the whole response arrived. A request on a new
// connection after SIGTERM may get the drain's 503 (Connection: close,
// JSON error "draining: shutting down"). A request that is not
// accepted may fail with a transport error; it is counted as refused. That
// is one written after SIGTERM on a keep-alive connection the gateway has
// closed as idle (the race every HTTP/1.1 server has when it closes an idle
// connection; RFC 9112 §9.3.1 lets clients retry such requests), or sent
// on a connection still queued in the kernel when the loops stopped (they
// are reset with the listener). Besides: no request fails before
// SIGTERM, /readyz answers 503 right after it and never 200 again, and the
// process exits 0 well within server.drain_timeout.
func TestDrainUnderLoad(t *testing.T) {
	bin := buildSluice(t)
	const slow, drainTimeout = 200 * time.Millisecond, 3 * time.Second
	up := newEchoUpstream(t, "up", slow)
	listen, adminAddr := freeAddr(t), freeAddr(t)
	file := writeFile(t, fmt.Sprintf(`listen: %q
admin: %q
server: {loops: 2, drain_timeout: %v}
access_log: {enabled: false}
clusters:
  up: {targets: [{url: %q}]}
routes:
  - {name: api, match: {path: /api/*}, cluster: up}
`, listen, adminAddr, drainTimeout, up.URL))
	p := startSluice(t, bin, file)
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	readyz := "http://" + adminAddr + "/readyz"
	waitUntil(t, p, 10*time.Second, "/readyz 200", func() bool { c, _ := adminDo(hc, "GET", readyz); return c == 200 })

	var sentAt atomic.Int64 // unix nanos when SIGTERM was sent; 0 before
	const fast, slowClients = 4, 4
	results := make([][]rawResult, fast+slowClients)
	var dialFailures [fast + slowClients]int
	var wg sync.WaitGroup
	for w := range fast + slowClients {
		path := "/api/fast"
		if w >= fast {
			path = "/api/slow"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rc *rawConn
			defer func() {
				if rc != nil {
					rc.c.Close()
				}
			}()
			deadline := time.Now().Add(15 * time.Second) // a bound if the gateway never stops
			for i := 0; time.Now().Before(deadline); i++ {
				if rc == nil {
					var err error
					if rc, err = dialRaw(listen); err != nil {
						if sentAt.Load() != 0 {
							return // the listener is gone: done
						}
						dialFailures[w]++
						return
					}
				}
				r := rc.get(path, fmt.Sprintf("w%d-%d", w, i))
				results[w] = append(results[w], r)
				if r.err != nil || r.close {
					rc.c.Close()
					rc = nil
					if sentAt.Load() != 0 {
						select {
						case <-p.exited:
							return
						case <-time.After(time.Millisecond): // ease the redial churn while the drain runs
						}
					}
				}
			}
		}()
	}

	// Stop while the upstream holds slow requests, after some load.
	time.Sleep(300 * time.Millisecond)
	waitUntil(t, p, 5*time.Second, "slow requests in flight", func() bool { return up.inFlight.Load() >= 3 })
	busy := up.inFlight.Load()

	// /readyz from the moment of the signal until the process is gone.
	type probe struct {
		at   time.Duration // since SIGTERM
		code int
	}
	probes := make(chan []probe, 1)
	begin := time.Now()
	sentAt.Store(begin.UnixNano())
	p.signal(t, syscall.SIGTERM)
	go func() {
		var ps []probe
		for {
			c, _ := adminDo(hc, "GET", readyz)
			if c == 0 {
				break // the admin listener closed: the process is on its way out
			}
			ps = append(ps, probe{time.Since(begin), c})
			select {
			case <-p.exited:
			case <-time.After(2 * time.Millisecond):
				continue
			}
			break
		}
		probes <- ps
	}()
	exitTook := p.waitExit(t, drainTimeout+5*time.Second)
	wg.Wait()
	ps := <-probes

	// /readyz: 503 soon after the signal, and never 200 after that.
	first503 := time.Duration(-1)
	for _, pr := range ps {
		switch {
		case pr.code == 503 && first503 < 0:
			first503 = pr.at
		case pr.code == 200 && first503 >= 0:
			t.Errorf("/readyz answered 200 at %v after SIGTERM, after a 503 at %v", pr.at, first503)
		case pr.code != 200 && pr.code != 503:
			t.Errorf("/readyz answered %d at %v after SIGTERM", pr.code, pr.at)
		}
	}
	if first503 < 0 {
		t.Errorf("/readyz never answered 503 during the drain (%d probes)", len(ps))
	} else if first503 > 500*time.Millisecond {
		t.Errorf("/readyz turned 503 only %v after SIGTERM", first503)
	}
	if exitTook >= drainTimeout {
		t.Errorf("the gateway took %v to exit, not within drain_timeout %v", exitTook, drainTimeout)
	}
	if strings.Contains(p.logs.String(), "drain timeout") {
		t.Errorf("the drain hit its timeout:\n%s", p.logs.String())
	}
	for w, n := range dialFailures {
		if n > 0 {
			t.Errorf("client %d could not connect before SIGTERM", w)
		}
	}

	sig := time.Unix(0, sentAt.Load())
	var ok, okAfter, across, spanning, closing, refused, refusedBefore, answered503, bad int
	for _, rs := range results {
		for _, r := range rs {
			_, reached := up.reached.Load(r.id)
			accepted := reached || r.gotBytes || (r.onServed && r.written && r.wroteAt.Before(sig))
			good := r.err == nil && r.status == 200 && r.body == "up:"+r.path
			switch {
			case !reached && !r.onServed && r.end.After(sig) && r.err == nil && r.status == 503 && r.close &&
				strings.Contains(r.body, `"error":"draining: shutting down"`):
				answered503++ // a new connection during the drain, refused with an answer
			case good:
				ok++
				if r.end.After(sig) {
					okAfter++
					if r.close {
						closing++
					}
					if r.wroteAt.Before(sig) {
						across++
						if r.path == "/api/slow" {
							spanning++
						}
					}
				}
			case accepted || r.end.Before(sig):
				bad++
				if bad <= 20 {
					t.Errorf("accepted request failed (reached upstream=%v; written %v and ended %v after SIGTERM): %v",
						reached, r.wroteAt.Sub(sig).Round(time.Microsecond), r.end.Sub(sig).Round(time.Microsecond), r)
				}
			case r.wroteAt.Before(sig) && r.written:
				refusedBefore++ // a fresh connection the gateway never took
			default:
				refused++
			}
		}
	}
	t.Logf("race=%v: %d requests served, %d finished after SIGTERM (%d written before it, %d of them slow ones; %d said Connection: close); upstream held %d slow requests at the signal; %d new connections answered 503 draining; %d refused after SIGTERM, %d written before it on a connection never taken; %d failed",
		raceBuild(), ok, okAfter, across, spanning, closing, busy, answered503, refused, refusedBefore, bad)
	t.Logf("/readyz: 503 %v after SIGTERM (%d probes); exit 0 %v after SIGTERM (drain_timeout %v)",
		first503.Round(time.Microsecond), len(ps), exitTook.Round(time.Millisecond), drainTimeout)
	if spanning == 0 {
		t.Error("no slow request in flight across SIGTERM completed: the test proved little")
	}
}
