// Command bigbody measures a gateway binary's RSS while 1 GiB goes up to a slow upstream and
// 1 GiB comes down to a slow client, through it, on 127.0.0.1 only.
//
//	go run -C bench ./bigbody ../bin/sluice
package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func slow(dst io.Writer, src io.Reader) int64 {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		m, err := src.Read(buf)
		n += int64(m)
		dst.Write(buf[:m])
		if n%(256<<10) < int64(m) {
			time.Sleep(time.Millisecond)
		}
		if err != nil {
			return n
		}
	}
}

func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bigbody path/to/sluice")
		os.Exit(2)
	}
	const size = 1 << 30
	cfgPath := os.TempDir() + "/bigbody.yaml"
	go http.ListenAndServe("127.0.0.1:19080", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/up" {
			fmt.Fprint(w, slow(io.Discard, r.Body))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		io.CopyN(w, zeros{}, size)
	}))
	os.WriteFile(cfgPath, []byte(`listen: 127.0.0.1:19084
admin: ""
limits: {max_body_bytes: 0}
clusters: {up: {targets: [{url: "http://127.0.0.1:19080"}], timeouts: {response: 60s}}}
routes: [{name: all, match: {path: /*}, cluster: up}]
`), 0o600)
	cmd := exec.Command(os.Args[1], "-config", cfgPath, "-loops", "1")
	cmd.Stderr = os.Stderr
	cmd.Start()
	defer cmd.Process.Kill()
	time.Sleep(500 * time.Millisecond)
	http.Get("http://127.0.0.1:19084/warm")
	base := rss(cmd.Process.Pid)
	var peak atomic.Int64
	go func() {
		for {
			if r := rss(cmd.Process.Pid); r > peak.Load() {
				peak.Store(r)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	t0 := time.Now()
	req, _ := http.NewRequest("POST", "http://127.0.0.1:19084/up", io.LimitReader(zeros{}, size))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("upload: %s bytes at the upstream in %v, peak RSS %.1f MiB (base %.1f MiB)\n", b, time.Since(t0).Round(time.Millisecond), float64(peak.Load())/(1<<20), float64(base)/(1<<20))
	peak.Store(0)
	t0 = time.Now()
	resp, err = http.Get("http://127.0.0.1:19084/down")
	if err != nil {
		panic(err)
	}
	n := slow(io.Discard, resp.Body)
	fmt.Printf("download: %d bytes to a slow client in %v, peak RSS %.1f MiB\n", n, time.Since(t0).Round(time.Millisecond), float64(peak.Load())/(1<<20))
}
