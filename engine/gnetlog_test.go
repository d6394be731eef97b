package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestGnetLogLevels pins how gnet's lines reach our log: its warnings
// (the epoll "stale connection" notice) at WARN, so they show at
// log_level info and warn; its banner only at debug; and its "default
// logging level is INFO" notice, which describes gnet's level rather than
// ours, never. (Before: every line went one level lower, so the stale
// connection warning was lost at log_level warn and the INFO notice
// printed under -log-level debug.)
func TestGnetLogLevels(t *testing.T) {
	const stale = "received event[fd=%d|ev=%d|flags=%d] of a stale connection from event-loop(%d)"
	emit := func(g gnetLog) {
		g.Debugf("default logging level is %s", "INFO")
		g.Infof("Launching gnet with %d event-loops, listening on: %s", 2, "tcp://127.0.0.1:1")
		g.Warnf(stale, 7, 1, 0, 3)
	}
	for _, tc := range []struct {
		level        slog.Level
		stale, start bool
	}{
		{slog.LevelDebug, true, true},
		{slog.LevelInfo, true, false},
		{slog.LevelWarn, true, false},
		{slog.LevelError, false, false},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var out bytes.Buffer
			emit(gnetLog{slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: tc.level}))})
			s := out.String()
			if got := strings.Contains(s, "level=WARN msg=\"received event[fd=7|ev=1|flags=0] of a stale connection from event-loop(3)\""); got != tc.stale {
				t.Errorf("stale connection warning logged=%v, want %v:\n%s", got, tc.stale, s)
			}
			if got := strings.Contains(s, "Launching gnet"); got != tc.start {
				t.Errorf("banner logged=%v, want %v:\n%s", got, tc.start, s)
			}
			if strings.Contains(s, "default logging level") {
				t.Errorf("gnet's own level notice reached the log:\n%s", s)
			}
		})
	}
}
