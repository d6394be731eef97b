package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

// gnetLog sends gnet's own log lines to our slog logger. gnet logs its
// start-up banner at Info and a few internal notices at Warn; they are the
// library's business, so they go out one level lower than gnet says.
type gnetLog struct{ l *slog.Logger }

func (g gnetLog) logf(lvl slog.Level, format string, args []any) {
	if g.l.Enabled(context.Background(), lvl) {
		g.l.Log(context.Background(), lvl, fmt.Sprintf(format, args...), "component", "gnet")
	}
}

func (g gnetLog) Debugf(format string, args ...any) { g.logf(slog.LevelDebug, format, args) }
func (g gnetLog) Infof(format string, args ...any)  { g.logf(slog.LevelDebug, format, args) }
func (g gnetLog) Warnf(format string, args ...any)  { g.logf(slog.LevelInfo, format, args) }
func (g gnetLog) Errorf(format string, args ...any) { g.logf(slog.LevelError, format, args) }
func (g gnetLog) Fatalf(format string, args ...any) {
	g.logf(slog.LevelError, format, args)
	os.Exit(1)
}
