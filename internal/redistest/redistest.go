// Package redistest runs a private redis-server for a test: on a free
// 127.0.0.1 port, with persistence off, in the test's temporary directory,
// killed at cleanup. A machine without redis-server fails the test, since
// what needs Redis would otherwise go untested in CI; SLUICE_SKIP_REDIS=1
// turns that into a skip for a laptop without it.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startDeadline bounds how long a server may take to answer PING.
const startDeadline = 15 * time.Second

// Server is one redis-server process. Test goroutine only.
type Server struct {
	// Addr is host:port, stable across Kill and Restart.
	Addr string
	args []string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs strings.Builder
}

// Start runs redis-server with extra arguments (such as "--requirepass",
// "secret") and waits until it answers PING. Test goroutine only.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("SLUICE_SKIP_REDIS") == "1" {
			t.Skip("redis-server not installed and SLUICE_SKIP_REDIS=1")
		}
		t.Fatal("redis-server not found on PATH: install it (apt-get install redis-server) or set SLUICE_SKIP_REDIS=1 to skip")
	}
	s := &Server{dir: t.TempDir()}
	s.args = append([]string{bin}, extra...)
	for try := 0; ; try++ {
		s.Addr = freeAddr(t)
		err := s.start()
		if err == nil {
			break
		}
		if try == 2 {
			t.Fatalf("redis-server: %v\n%s", err, s.log())
		}
	}
	t.Cleanup(s.Kill)
	return s
}

// Kill stops the server at once (SIGKILL), as a crash would. Idempotent.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart starts the server again on the same address (after Kill), empty.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("redis-server restart: %v\n%s", err, s.log())
	}
}

func (s *Server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{}, s.args[1:]...)
	args = append(args, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--loglevel", "warning")
	cmd := exec.Command(s.args[0], args...)
	out := &lockedWriter{s: s}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	for deadline := time.Now().Add(startDeadline); ; {
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("exited before answering PING")
		default:
		}
		if ping(s.Addr) {
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("no PONG within %v", startDeadline)
		}
		time.Sleep(10 * time.Millisecond) // poll interval of a wait with a deadline
	}
}

// ping reports whether a server at addr answers PING (an error reply
// such as NOAUTH counts: the server is up).
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && (strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH"))
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.logs.Write(p)
}
