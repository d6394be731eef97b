package main

import (
	"context"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/admin"
)

// drain is the graceful stop after SIGTERM/SIGINT: /readyz fails first,
// the gateway keeps serving for -shutdown-delay (so load balancers that
// poll /readyz stop sending), then the engine drains for the running
// config's drain_timeout and the loops stop. The admin listener stays up
// throughout (run closes it last), so the drain can be watched. Another
// SIGTERM/SIGINT during the delay cuts it short; SIGHUP still reloads.
func (g *gateway) drain(sig os.Signal, sigs <-chan os.Signal, served <-chan error) {
	g.draining.Store(true)
	cfg := g.Running().Config
	timeout := cfg.Server.DrainTimeout.D()
	g.log.Info("draining", "signal", sig.String(), "delay", g.f.shutdownDelay, "timeout", timeout)
	if d := g.f.shutdownDelay; d > 0 {
		t := time.NewTimer(d)
	wait:
		for {
			select {
			case <-t.C:
				break wait
			case s := <-sigs:
				if s == syscall.SIGHUP {
					g.reload("SIGHUP")
					continue
				}
				t.Stop()
				g.log.Info("second signal: draining now", "signal", s.String())
				break wait
			}
		}
		// A reload during the delay may have changed the budget.
		timeout = g.Running().Config.Server.DrainTimeout.D()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := g.eng.Shutdown(ctx); err != nil {
		g.log.Error("shutdown", "err", err)
	}
	<-served
	g.log.Info("stopped")
}

// closeAdmin stops the admin listener, giving requests in progress (a
// scrape, a profile) a moment to finish.
func closeAdmin(a *admin.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = a.Close(ctx)
}

// isLoopback reports whether a listener address only accepts local
// connections ("localhost" counts; an empty host means every interface).
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
