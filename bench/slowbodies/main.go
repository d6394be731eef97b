// Command slowbodies measures how many upstream connections a gateway binary
// gives to clients that send small request bodies slowly. Everything runs on
// 127.0.0.1.
//
//	go run ./bench/slowbodies -n 1000 bin/sluice
//	go run ./bench/slowbodies -n 1000 -buffer 0 bin/sluice   # request buffering off
//
// Each client sends a POST head with Content-Length: 20, then one body byte
// every -gap. The upstream counts its open connections (the most seen before
// the first body is whole is what the slow senders pinned) and the time its
// handlers spend from request head to answer (what a fixed worker pool
// loses to slow senders).
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/bench/internal/gateway"
)

func main() {
	n := flag.Int("n", 1000, "slow clients")
	gap := flag.Duration("gap", 100*time.Millisecond, "time between body bytes")
	buffer := flag.String("buffer", "", "limits.request_buffer_bytes for the gateway (empty = its default)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: slowbodies [-n 1000] [-buffer 0] path/to/sluice")
		os.Exit(2)
	}
	var open, most, busy atomic.Int64
	up, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A worker is taken from the head to the answer: the time a
			// fixed pool would lose to each slow sender.
			defer func(t time.Time) { busy.Add(int64(time.Since(t))) }(time.Now())
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d", len(b))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				if v := open.Add(1); v > most.Load() {
					most.Store(v)
				}
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
	go srv.Serve(up)
	gw, err := gateway.FreePort()
	check(err)
	limits := "limits: {max_connections: 100000}"
	if *buffer != "" {
		limits = fmt.Sprintf("limits: {max_connections: 100000, request_buffer_bytes: %s}", *buffer)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", gw)
	cmd, err := gateway.Start(flag.Arg(0), fmt.Sprintf(`listen: %s
admin: ""
access_log: {enabled: false}
%s
clusters: {up: {targets: [{url: "http://%s"}], timeouts: {response: 60s}, pool: {max_idle_per_target: 4096}}}
routes: [{name: all, match: {path: /*}, cluster: up}]
`, addr, limits, up.Addr()), addr, "-loops", "1")
	check(err)
	defer cmd.Process.Kill()

	body := "0123456789abcdefghij"
	conns := make([]net.Conn, *n)
	for i := range conns {
		conns[i], err = net.Dial("tcp", addr)
		check(err)
		_, err = fmt.Fprintf(conns[i], "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body))
		check(err)
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	var ok atomic.Int64
	var firstDone sync.Once
	mostBefore := int64(-1)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for i := range len(body) {
				time.Sleep(*gap) // the slow sender being measured
				if _, err := io.WriteString(c, body[i:i+1]); err != nil {
					return
				}
			}
			firstDone.Do(func() { mostBefore = most.Load() })
			buf := make([]byte, 4096)
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if m, _ := c.Read(buf); strings.HasPrefix(string(buf[:m]), "HTTP/1.1 200") {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("clients %d, body %d bytes at one byte per %v (%v each), request_buffer_bytes %q\n", *n, len(body), *gap, time.Duration(len(body))**gap, *buffer)
	fmt.Printf("most upstream connections open before the first body was whole: %d\n", mostBefore)
	fmt.Printf("most upstream connections open at all: %d; 200 responses: %d of %d; wall %v\n", most.Load(), ok.Load(), *n, time.Since(t0).Round(time.Millisecond))
	fmt.Printf("upstream handler time, all requests: %v (%v per request)\n", time.Duration(busy.Load()).Round(time.Millisecond), (time.Duration(busy.Load()) / time.Duration(*n)).Round(time.Microsecond))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "slowbodies:", err)
		os.Exit(1)
	}
}
