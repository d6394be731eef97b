// Command slowreaders measures a gateway binary's resident memory while many
// clients read 1 MiB responses slowly through it, and how much of that memory
// it gives back once they are gone. Everything runs on 127.0.0.1.
//
//	go run ./bench/slowreaders -n 1000 bin/sluice
//
// Each client shrinks its receive buffer (SO_RCVBUF) before connecting, asks
// for a 1 MiB response and reads a little at a time, so the gateway has to
// hold or push back the rest. Once every client has its response head and the
// gateway's RSS has settled, the clients close and the RSS is sampled until it
// stops falling or -after runs out.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/bench/internal/gateway"
	"github.com/sluicehq/sluice/bench/internal/procfs"
)

func main() {
	n := flag.Int("n", 1000, "slow clients")
	size := flag.Int("size", 1<<20, "response size in bytes")
	rcvbuf := flag.Int("rcvbuf", 4096, "client SO_RCVBUF")
	settle := flag.Duration("settle", 5*time.Second, "time the clients read slowly before RSS is taken")
	after := flag.Duration("after", 60*time.Second, "how long RSS is watched after the clients close")
	memstats := flag.Bool("memstats", false, "print the gateway's Go heap figures (from its admin /debug/pprof/heap) with each RSS sample")
	profile := flag.String("heapprofile", "", "write the gateway's heap profile, taken while the clients read, to `file`")
	forceGC := flag.Int("gc", 0, "force this many GCs in the gateway (admin /debug/pprof/heap?gc=1) right after the clients close")
	profileAfter := flag.String("heapprofile-after", "", "write the gateway's heap profile, taken at the end, to `file`")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: slowreaders [-n 1000] path/to/sluice")
		os.Exit(2)
	}
	body := make([]byte, *size)
	up, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go http.Serve(up, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	gw, err := gateway.FreePort()
	check(err)
	adm, err := gateway.FreePort()
	check(err)
	addr := fmt.Sprintf("127.0.0.1:%d", gw)
	cmd, err := gateway.Start(flag.Arg(0), fmt.Sprintf(`listen: %s
admin: "127.0.0.1:%d"
limits: {max_connections: 100000}
timeouts: {client_idle: 300s}
clusters: {up: {targets: [{url: "http://%s"}], timeouts: {response: 300s}, pool: {max_idle_per_target: 4096}}}
routes: [{name: all, match: {path: /*}, cluster: up}]
`, addr, adm, up.Addr()), addr, "-loops", "1", "-admin-pprof")
	check(err)
	defer cmd.Process.Kill()
	if r, err := http.Get("http://" + addr + "/warm"); err == nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	pid := cmd.Process.Pid
	base := rss(pid)

	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, *rcvbuf)
		})
	}}
	conns := make([]net.Conn, 0, *n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < *n; i++ {
		c, err := d.Dial("tcp", addr)
		check(err)
		_, err = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		check(err)
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		wg.Add(1)
		go func() { // read 1 KiB every 100 ms: 10 KiB/s, far slower than the upstream
			defer wg.Done()
			buf := make([]byte, 1024)
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(*settle)
	during := rss(pid)
	fmt.Printf("clients %d, response %d B, client SO_RCVBUF %d\n", *n, *size, *rcvbuf)
	fmt.Printf("RSS before: %.1f MiB\n", mib(base))
	fmt.Printf("RSS with the clients reading: %.1f MiB (%.0f KiB per client)\n", mib(during), float64(during-base)/1024/float64(*n))
	stats := func() {
		if *memstats {
			fmt.Println("   ", heapStats(adm), "|", metric(adm, "sluice_client_connections "), metric(adm, "sluice_upstream_connections"))
		}
	}
	stats()
	if *profile != "" {
		saveHeap(adm, *profile)
	}
	close(stop)
	t0 := time.Now()
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	for i := 0; i < *forceGC; i++ {
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", adm))
		check(err)
		r.Body.Close()
	}
	for _, at := range []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second} {
		if at > *after {
			break
		}
		time.Sleep(time.Until(t0.Add(at)))
		fmt.Printf("RSS %v after the clients closed: %.1f MiB\n", at, mib(rss(pid)))
		stats()
	}
	if *profileAfter != "" {
		saveHeap(adm, *profileAfter)
	}
}

func saveHeap(adminPort int, path string) {
	r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", adminPort))
	check(err)
	defer r.Body.Close()
	f, err := os.Create(path)
	check(err)
	defer f.Close()
	_, err = io.Copy(f, r.Body)
	check(err)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// rss is the gateway's VmRSS in bytes.
func rss(pid int) int64 { return procfs.RSSKiB(pid) << 10 }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "slowreaders:", err)
		os.Exit(1)
	}
}

// heapStats picks the runtime.MemStats lines that tell live heap from memory
// the runtime keeps, out of the gateway's heap profile page.
func heapStats(adminPort int) string {
	r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?debug=1", adminPort))
	if err != nil {
		return err.Error()
	}
	defer r.Body.Close()
	var out []string
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		for _, k := range []string{"# HeapAlloc", "# HeapInuse", "# HeapIdle", "# HeapReleased", "# StackInuse", "# Sys ", "# NextGC", "# NumGC"} {
			if strings.HasPrefix(sc.Text(), k) {
				out = append(out, strings.TrimPrefix(sc.Text(), "# "))
			}
		}
	}
	return strings.Join(out, ", ")
}

// metric returns the gateway's /metrics lines that start with name.
func metric(adminPort int, name string) string {
	r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort))
	if err != nil {
		return err.Error()
	}
	defer r.Body.Close()
	var out []string
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name) {
			out = append(out, sc.Text())
		}
	}
	return strings.Join(out, ", ")
}
