package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// gnetLog sends gnet's own log lines to our slog logger at the level gnet
// gives them, with two exceptions, matched on gnet's format strings:
//
//   - "default logging level is %s" is dropped: it reports gnet's built-in
//     level (INFO), not ours, so it was wrong under -log-level debug;
//   - the start-up banner ("Launching gnet with …") goes to debug: Sluice
//     logs its own "sluice listening" line.
//
// Everything else keeps gnet's level. An earlier version logged every
// line one level lower than gnet said, so gnet's warnings (such as
// "received event … of a stale connection", an epoll irregularity worth
// seeing) came out as INFO and vanished at log_level warn.
type gnetLog struct{ l *slog.Logger }

// gnet's format strings that get special treatment (gnet v2.9).
const (
	gnetLevelNotice = "default logging level is"
	gnetBanner      = "Launching gnet with"
)

func (g gnetLog) logf(lvl slog.Level, format string, args []any) {
	if g.l.Enabled(context.Background(), lvl) {
		g.l.Log(context.Background(), lvl, fmt.Sprintf(format, args...), "component", "gnet")
	}
}

func (g gnetLog) Debugf(format string, args ...any) {
	if strings.HasPrefix(format, gnetLevelNotice) {
		return
	}
	g.logf(slog.LevelDebug, format, args)
}

func (g gnetLog) Infof(format string, args ...any) {
	lvl := slog.LevelInfo
	if strings.HasPrefix(format, gnetBanner) {
		lvl = slog.LevelDebug
	}
	g.logf(lvl, format, args)
}

func (g gnetLog) Warnf(format string, args ...any)  { g.logf(slog.LevelWarn, format, args) }
func (g gnetLog) Errorf(format string, args ...any) { g.logf(slog.LevelError, format, args) }
func (g gnetLog) Fatalf(format string, args ...any) {
	g.logf(slog.LevelError, format, args)
	os.Exit(1)
}
