package engine

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// slowCopy reads src in 64 KiB steps and pauses 1 ms every 256 KiB, a reader
// far slower than a loopback writer.
func slowCopy(dst io.Writer, src io.Reader) (int64, error) { return slowerCopy(dst, src, 256<<10) }

// slowerCopy pauses 1 ms every `every` bytes.
func slowerCopy(dst io.Writer, src io.Reader, every int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		m, err := src.Read(buf)
		n += int64(m)
		_, _ = dst.Write(buf[:m])
		if n%every < int64(m) {
			time.Sleep(time.Millisecond)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// rssBytes reads this process's resident set size.
func rssBytes(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestLargeBodiesStayBounded sends 1 GiB up to a slow upstream and 1 GiB
// down to a slow client. Without moving the fast side off the loop gnet would
// buffer most of each gigabyte; with it the process grows by a few MiB.
func TestLargeBodiesStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 2 GiB")
	}
	const size = 1 << 30
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo/up":
			n, err := slowCopy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			fmt.Fprintf(w, "%d", n)
		case "/echo/down":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			_, _ = io.CopyN(w, zeros{}, size)
		}
	}))
	g := startGateway(t, oneCluster(up.addr, "limits: {max_body_bytes: 0}", routingRoutes), 1)
	warmPool(t, g) // the uploads below then start on a pooled connection, not a dial

	// RSS is the whole test process's: earlier tests leave heap and garbage
	// behind (a 356 MiB base in one CI run, which then grew by 104 MiB of
	// mostly garbage). Return what is free and collect eagerly while
	// measuring, so only live memory (buffered bodies) can grow RSS.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	debug.FreeOSMemory()
	base := rssBytes(t)
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r := rssBytes(t); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	req, _ := http.NewRequest("POST", g.url("/api/echo/up"), io.LimitReader(zeros{}, size))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != strconv.Itoa(size) {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}

	resp, err = http.Get(g.url("/api/echo/down"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := slowCopy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	close(stop)
	<-sampled
	growth := peak.Load() - base
	t.Logf("RSS growth over both transfers: %.1f MiB (base %.1f MiB)", float64(growth)/(1<<20), float64(base)/(1<<20))
	if growth > 96<<20 {
		t.Fatalf("RSS grew by %d MiB moving 1 GiB each way; the bodies were buffered", growth>>20)
	}

	// The connection pool and the loop are still healthy afterwards.
	resp, err = http.Get(g.url("/api/users/1"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after streaming: %v %v", resp, err)
	}
	resp.Body.Close()
}

// pattern is a deterministic, non-repeating-looking byte stream, so a byte
// lost, duplicated or reordered across the move off the loop changes the hash.
type pattern struct{ x uint64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		p.x = p.x*6364136223846793005 + 1442695040888963407
		b[i] = byte(p.x >> 56)
	}
	return len(b), nil
}

func patternHash(n int64) string {
	h := sha256.New()
	_, _ = io.CopyN(h, &pattern{}, n)
	return hex.EncodeToString(h.Sum(nil))
}

// TestStreamedBodiesArriveIntact moves 32 MiB each way through the off-loop
// path, with Content-Length and with chunked framing, and checks every byte.
//
// The slow end does not read at all until the gateway has moved the body off
// the loop, then reads slowly. (It used to only read slowly, which made the
// detach depend on the fast end outrunning ~32 MB/s: under -race on a loaded
// 2-core machine the pattern generator itself is slower than that, nothing
// backed up, and the test failed 1-2 times in 5 with "never left the loop".)
// A receiver that takes nothing must make the gateway detach once the kernel
// buffers (a few MiB at most) are full, whatever the speeds.
func TestStreamedBodiesArriveIntact(t *testing.T) {
	const size = 32 << 20
	want := patternHash(size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Small kernel buffers on both slow ends make the gateway see pushback at
	// once, however fast the (race-instrumented) fast end happens to be.
	var g *gateway
	streamed := make(chan int64, 1) // the upload's Streams() before it started
	up := serveUpstream(t, smallRcvBuf{ln}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo/up":
			// Hold the body in the kernel until the gateway detached it
			// (or give up and let the test report that it never did).
			before := <-streamed
			waitUntil(streamWait, func() bool { return g.e.Streams() > before })
			h := sha256.New()
			if _, err := slowCopy(h, r.Body); err != nil { // then slowly: the stream waits on the upstream
				http.Error(w, err.Error(), 500)
				return
			}
			io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
		case "/echo/down-cl":
			w.Header().Set("Content-Length", strconv.Itoa(size))
			_, _ = io.CopyN(w, &pattern{}, size)
		case "/echo/down-chunked":
			_, _ = io.CopyN(w, &pattern{}, size) // no length: net/http chunks it
		}
	}))
	g = startGateway(t, oneCluster(up.addr, "limits: {max_body_bytes: 0}", routingRoutes), 1)
	warmPool(t, g) // the uploads below then start on a pooled connection, not a dial

	for _, chunked := range []bool{false, true} {
		streams := g.e.Streams()
		streamed <- streams
		req, _ := http.NewRequest("POST", g.url("/api/echo/up"), io.LimitReader(&pattern{}, size))
		if !chunked {
			req.ContentLength = size
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != want {
			t.Fatalf("upload (chunked=%v): upstream hashed %q, want %q", chunked, got, want)
		}
		if g.e.Streams() == streams {
			t.Fatalf("upload (chunked=%v) never left the loop; the test did not exercise streaming", chunked)
		}
	}
	slowClient := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) })
		},
	}).DialContext}}
	for _, path := range []string{"/api/echo/down-cl", "/api/echo/down-chunked"} {
		streams := g.e.Streams()
		resp, err := slowClient.Get(g.url(path))
		if err != nil {
			t.Fatal(err)
		}
		// Read nothing of the body until the gateway detached it.
		waitUntil(streamWait, func() bool { return g.e.Streams() > streams })
		h := sha256.New()
		n, err := slowCopy(h, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want {
			t.Fatalf("download %s: %d bytes, %v, hash mismatch=%v", path, n, err, hex.EncodeToString(h.Sum(nil)) != want)
		}
		if g.e.Streams() == streams {
			t.Fatalf("download %s never left the loop; the test did not exercise streaming", path)
		}
	}
}

// streamWait bounds how long a test waits for the gateway to move a body off
// the loop; it takes milliseconds once the receiver stops reading.
const streamWait = 30 * time.Second

// warmPool sends one request so the loop holds an idle upstream connection:
// a body arriving while its upstream is still being dialed is held in memory
// (up to holdHighWater), which a test of the streaming path should not
// depend on.
func warmPool(t *testing.T, g *gateway) {
	t.Helper()
	resp, err := http.Get(g.url("/api/users/warm"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestUploadDuringASlowDialIsStreamed: a fast client sends more than
// holdHighWater of body while its upstream connection is still being dialed
// (the target's accept queue is full, so the SYNs are dropped and the kernel
// retries them). The body must move to a stream that waits for the dial, not
// grow gnet's buffer or drop the client, and arrive intact once the upstream
// accepts. The target starts accepting only once the body has moved (it used
// to after a fixed 300ms, and on a loaded machine the dial could complete
// before the client had sent holdHighWater: "never moved to a stream").
func TestUploadDuringASlowDialIsStreamed(t *testing.T) {
	open := make(chan struct{})
	addr := slowToAccept(t, open, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
	}))
	const size = 24 << 20
	body := make([]byte, size)
	_, _ = (&pattern{}).Read(body)
	sum := sha256.Sum256(body)
	// The connect timeout outlasts the kernel's SYN retries at 1, 3, 7 and
	// 15 s, so the dial completes at whichever retry follows the opening.
	g := startGateway(t, ftConfig("limits: {max_body_bytes: 0}", ftRoute("up", "/up", "up"),
		ftCluster{name: "up", addr: addr, timeouts: "{connect: 20s, response: 20s}"}), 1)
	streams := g.e.Streams()
	go func() {
		waitUntil(streamWait, func() bool { return g.e.Streams() > streams })
		close(open)
	}()
	req, _ := http.NewRequest("POST", g.url("/up/x"), bytes.NewReader(body))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != hex.EncodeToString(sum[:]) {
		t.Fatalf("upload: %d %q", resp.StatusCode, got)
	}
	if g.e.Streams() == streams {
		t.Fatal("the body never moved to a stream; the test did not exercise the dial hold")
	}
}

// slowToAccept returns a loopback address whose SYNs are dropped: a
// backlog-0 listener with its accept queue filled. When open is closed it
// starts serving h (accepting the queued fillers too), so a dial in progress
// completes at the kernel's next SYN retry.
func slowToAccept(t *testing.T, open <-chan struct{}, h http.Handler) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	full := false
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 150*time.Millisecond)
		if err != nil {
			full = true // this SYN was dropped: the queue is full
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	if !full {
		syscall.Close(fd)
		t.Skip("this kernel answered every SYN to a full backlog-0 listener")
	}
	f := os.NewFile(uintptr(fd), "slow-listener")
	ln, err := net.FileListener(f) // dups fd
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	t.Cleanup(func() { srv.Close() })
	go func() {
		<-open
		_ = srv.Serve(ln)
	}()
	return addr
}
