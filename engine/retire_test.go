package engine

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
)

// TestSwapRetiresReplacedPools pins issue 12: after a swap that replaces a
// cluster, the old pool's idle upstream connections are closed at once
// (not after the 90 s idle timeout), and one busy across the swap finishes
// its exchange with 200 and is then closed rather than parked.
func TestSwapRetiresReplacedPools(t *testing.T) {
	release := make(chan struct{})
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	yml := func(weight int) string {
		return fmt.Sprintf(`listen: "{{listen}}"
admin: ""
access_log: {enabled: false}
clusters:
  up:
    targets: [{url: "http://%s", weight: %d}]
    timeouts: {connect: 1s, response: 5s}
routes:
  - {name: all, match: {path: /*}, cluster: up}
`, up.addr, weight)
	}
	g := startGateway(t, yml(1), 1)

	// Two connections in the pool: one idle, one held by /slow.
	idle, busy := dialRaw(t, g.addr), dialRaw(t, g.addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
	waitOpen(t, up, 1)
	idle.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
	idle.readResponse("GET")
	waitOpen(t, up, 2)

	// The same cluster with another weight: a changed cluster, new targets.
	cfg, err := config.Parse("next.yaml", []byte(strings.ReplaceAll(yml(2), "{{listen}}", g.addr)))
	if err != nil {
		t.Fatal(err)
	}
	next, err := pipeline.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(next.Close)
	g.e.Swap(next)
	waitOpen(t, up, 1) // the idle one closes; the busy one stays

	close(release)
	if resp, body := busy.readResponse("GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("request across the swap: %d %q", resp.StatusCode, body)
	}
	waitOpen(t, up, 0) // closed when its exchange ended
	// The new snapshot's pool works and keeps its connection.
	idle.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
	if resp, body := idle.readResponse("GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("request after the swap: %d %q", resp.StatusCode, body)
	}
	waitOpen(t, up, 1)
}

// waitOpen waits up to a second, far below the pools' 90 s idle timeout,
// for the upstream to have exactly n connections open.
func waitOpen(t *testing.T, up *countingServer, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for up.open.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("upstream has %d connections open, want %d", up.open.Load(), n)
		}
		time.Sleep(5 * time.Millisecond) // polling the upstream's count
	}
}
