package engine

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestIdleCapWithoutThrash: with more requests in flight than the idle cap,
// bursts reuse their connections instead of closing one per response and
// dialing again; once traffic stops, the pool shrinks to the cap.
func TestIdleCapWithoutThrash(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := serveUpstream(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // keep the burst's requests overlapping
		io.WriteString(w, "ok")
	}))
	g := startGateway(t, fmt.Sprintf(`listen: "{{listen}}"
admin: ""
clusters:
  up:
    targets: [{url: "http://%s"}]
    pool: {max_idle_per_target: 2}
routes:
  - {name: all, match: {path: /*}, cluster: up}
`, up.addr), 1)

	const burst, rounds = 8, 5
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: burst}}
	for range rounds {
		var wg sync.WaitGroup
		for range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Get(g.url("/x"))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}()
		}
		wg.Wait()
	}
	if n := up.conns.Load(); n > 2*burst {
		t.Fatalf("%d upstream connections for %d bursts of %d: the pool thrashed", n, rounds, burst)
	}
	waitUntil(2*time.Second, func() bool { return up.open.Load() <= 2 })
	if n := up.open.Load(); n > 2 {
		t.Fatalf("%d upstream connections still open after the burst; cap is 2", n)
	}
}
