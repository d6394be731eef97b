package main

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/config"
)

// TestKeepFixed: start-time settings a reload changes are reported and
// put back to the running values; the rest of the new config stays.
func TestKeepFixed(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"nothing fixed changed", func(c *config.Config) { c.Server.LogLevel = "debug"; c.Server.DrainTimeout = 5 }, "[]"},
		{"listen", func(c *config.Config) { c.Listen = "127.0.0.1:1" }, "[listen]"},
		{"admin off", func(c *config.Config) { c.Admin = "" }, "[admin]"},
		{"loop settings", func(c *config.Config) {
			c.Server.Loops = 7
			c.Server.ReusePort = false
			c.Server.LockOSThread = true
			c.Server.ReadBuffer = 8 * config.KiB
			c.Server.WriteBuffer = 0
		}, "[server.loops server.reuseport server.lock_os_thread server.read_buffer server.write_buffer]"},
		{"demo upstreams", func(c *config.Config) { c.DemoUpstreams = []string{"127.0.0.1:2"} }, "[demo_upstreams]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			running, next := config.Default(), config.Default()
			tc.edit(next)
			level, drain := next.Server.LogLevel, next.Server.DrainTimeout
			got := keepFixed(running, next)
			if fmt.Sprint(got) != tc.want && !(got == nil && tc.want == "[]") {
				t.Errorf("got %v, want %s", got, tc.want)
			}
			if again := keepFixed(running, next); again != nil {
				t.Errorf("after keepFixed the configs still differ in %v", again)
			}
			if next.Server.LogLevel != level || next.Server.DrainTimeout != drain {
				t.Error("keepFixed touched a reloadable setting")
			}
		})
	}
}
