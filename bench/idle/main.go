// Command idle measures what idle keep-alive client connections cost a proxy.
//
// It samples the RSS of the proxy's process tree (-pid), opens -n TCP
// connections to -addr, sends one keep-alive "GET <path> HTTP/1.1" on each and
// reads the response, then holds them all. After -settle it samples RSS twice,
// 0.5 s apart, and keeps the larger; it checks the proxy kept the connections
// open, closes them, and samples once more. It prints one key=value line:
//
//	bytes_per_conn = (rss_conns - rss_before) / ok
//
// Kernel socket buffers are not part of RSS. Only loopback targets are
// accepted. The whole run is bounded by -timeout plus a few seconds.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/bench/internal/procfs"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18084", "proxy address (loopback only)")
	path := flag.String("path", "/", "request path sent once on each connection")
	n := flag.Int("n", 10000, "connections to open")
	pid := flag.Int("pid", 0, "pid of the proxy; its descendants are included (required)")
	conc := flag.Int("c", 50, "connections being opened at once")
	settle := flag.Duration("settle", 3*time.Second, "wait after the last connection opened before sampling RSS")
	timeout := flag.Duration("timeout", 60*time.Second, "give up opening connections after this long")
	name := flag.String("name", "", "label printed with the result")
	flag.Parse()

	if err := run(*addr, *path, *n, *pid, *conc, *settle, *timeout, *name); err != nil {
		fmt.Fprintln(os.Stderr, "idle:", err)
		os.Exit(1)
	}
}

func run(addr, path string, n, pid, conc int, settle, timeout time.Duration, name string) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("refusing non-loopback address %q", addr)
	}
	if pid <= 0 {
		return errors.New("-pid is required")
	}
	if lim := raiseNofile(); lim < uint64(n)+100 {
		return fmt.Errorf("RLIMIT_NOFILE is %d, too low for %d connections", lim, n)
	}
	before, err := procfs.Read(pid)
	if err != nil {
		return err
	}

	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: sluice-bench-idle\r\n\r\n")
	conns := make([]net.Conn, n)
	var next, failed atomic.Int64
	var firstErr atomic.Pointer[string]
	deadline := time.Now().Add(timeout)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := open(addr, req, deadline)
				if err != nil {
					failed.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	openSecs := time.Since(start).Seconds()
	ok := 0
	for _, c := range conns {
		if c != nil {
			ok++
		}
	}

	time.Sleep(settle)
	with, err := procfs.Read(pid)
	if err != nil {
		return fmt.Errorf("proxy gone while holding connections: %w", err)
	}
	time.Sleep(500 * time.Millisecond)
	if u, err := procfs.Read(pid); err == nil && u.RSSKiB > with.RSSKiB {
		with = u
	}

	// A connection the proxy closed reads EOF at once; an open one times out.
	open := 0
	for _, c := range conns {
		if c == nil {
			continue
		}
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		_, err := c.Read(b[:])
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			open++
		}
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	time.Sleep(1500 * time.Millisecond)
	after, _ := procfs.Read(pid)

	per := int64(0)
	if ok > 0 {
		per = (with.RSSKiB - before.RSSKiB) * 1024 / int64(ok)
	}
	fe := ""
	if p := firstErr.Load(); p != nil {
		fe = *p
	}
	fmt.Printf("name=%s n=%d ok=%d failed=%d still_open=%d open_s=%.2f rss_before_kib=%d rss_conns_kib=%d rss_closed_kib=%d fds_before=%d fds_conns=%d bytes_per_conn=%d first_error=%q\n",
		name, n, ok, failed.Load(), open, openSecs, before.RSSKiB, with.RSSKiB, after.RSSKiB, before.FDs, with.FDs, per, fe)
	return nil
}

// open dials addr, sends req and reads one complete 2xx keep-alive response.
func open(addr string, req []byte, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 1024)
	resp, err := http.ReadResponse(br, nil)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	switch {
	case err != nil:
	case resp.StatusCode/100 != 2:
		err = fmt.Errorf("status %d", resp.StatusCode)
	case resp.Close:
		err = errors.New("proxy answered Connection: close")
	case br.Buffered() > 0:
		err = errors.New("bytes after the response")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// raiseNofile lifts the soft descriptor limit to the hard one and returns it.
func raiseNofile() uint64 {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0
	}
	rl.Cur = rl.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	return rl.Cur
}
