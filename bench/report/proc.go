package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/bench/internal/procfs"
)

func pidFlag(name string, args []string) (int, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	pid := fs.Int("pid", 0, "root process id")
	fs.Parse(args)
	if *pid <= 0 {
		return 0, fmt.Errorf("%s: -pid is required", name)
	}
	return *pid, nil
}

func proc(args []string) error {
	pid, err := pidFlag("proc", args)
	if err != nil {
		return err
	}
	u, err := procfs.Read(pid)
	if err != nil {
		return err
	}
	fmt.Printf("ticks=%d sys_ticks=%d rss_kib=%d fds=%d procs=%d\n", u.Ticks, u.SysTicks, u.RSSKiB, u.FDs, u.Procs)
	return nil
}

func tree(args []string) error {
	pid, err := pidFlag("tree", args)
	if err != nil {
		return err
	}
	var s []string
	for _, p := range procfs.Tree(pid) {
		s = append(s, strconv.Itoa(p))
	}
	fmt.Println(strings.Join(s, " "))
	return nil
}

func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	rawURL := fs.String("url", "", "URL to poll (loopback only)")
	wantLen := fs.Int("len", -1, "expected body length (-1: any)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	pid := fs.Int("pid", 0, "fail at once if this process exits (0: no check)")
	fs.Parse(args)
	u, err := url.Parse(*rawURL)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing non-loopback URL %q", *rawURL)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for end := time.Now().Add(*timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if *pid > 0 && !procfs.Alive(*pid) {
			return fmt.Errorf("process %d exited before %s answered", *pid, *rawURL)
		}
		resp, err := client.Get(*rawURL)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 && (*wantLen < 0 || len(b) == *wantLen) {
			return nil
		}
		last = fmt.Errorf("status %d, %d body bytes (err %v)", resp.StatusCode, len(b), err)
	}
	return fmt.Errorf("%s not ready after %v: %v", *rawURL, *timeout, last)
}
