// Package gateway starts a gateway binary for the benchmark tools: a config
// written to a temporary file, the process, and a wait until it accepts
// connections. Used by bench/slowreaders and bench/slowbodies.
package gateway

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"
)

// FreePort returns a 127.0.0.1 port nobody listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start writes cfg to a temporary file, runs bin on it with args (its
// stderr goes to ours) and waits up to 10 s for addr to accept. The caller
// kills the process.
func Start(bin, cfg, addr string, args ...string) (*exec.Cmd, error) {
	f, err := os.CreateTemp("", "sluice-bench-*.yaml")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(cfg); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, append([]string{"-config", f.Name()}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd, nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("gateway: %s did not accept on %s within 10s", bin, addr)
		}
		time.Sleep(20 * time.Millisecond) // polling a process we do not control
	}
}
