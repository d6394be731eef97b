// Package auditlog is the `audit_log` middleware: one JSON line per request
// (who, what, outcome) appended to a file by a background writer, so the
// event loop never waits on the disk.
//
//	middleware:
//	  audit: {type: audit_log, path: audit.log}
//
// The line is written in Finish, once the response status is known, for
// every request that reached the filter's chain: those a filter before or
// after it rejected (a 401 from auth, a 429 from a limiter) are audited too.
package auditlog

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/observe"
)

// TypeName is the middleware's `type`.
const TypeName = "audit_log"

func init() {
	filter.Register(filter.Type{Name: TypeName, Decode: decode, Build: build})
}

// Settings are an audit_log instance's keys. They do not implement
// filter.Reusable on purpose: every reload builds a new instance, which
// reopens the file, so log rotation works with SIGHUP.
type Settings struct {
	// Path (yaml `path`, required) is the audit log file, appended to and
	// created with mode 0640 when missing. A relative path is resolved
	// against the config file's directory at decode time; "-" is standard
	// output.
	Path string `yaml:"path"`
}

// decode checks an instance strictly and stores its *Settings, with Path
// resolved. No I/O.
func decode(m *config.Middleware) error {
	var s Settings
	if err := m.Decode(&s); err != nil {
		return err
	}
	switch {
	case s.Path == "":
		return m.Errorf("path", "required: the audit log file (relative to the config file, or - for stdout)")
	case s.Path == "-", filepath.IsAbs(s.Path):
	default:
		s.Path = filepath.Join(filepath.Dir(m.Pos.File), s.Path)
	}
	m.Settings = &s
	return nil
}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		if err := decode(m); err != nil {
			return nil, err
		}
		s = m.Settings.(*Settings)
	}
	w, err := observe.OpenLineWriter(s.Path, observe.Options{})
	if err != nil {
		return nil, fmt.Errorf("audit_log: %w", err)
	}
	return &Filter{w: w, now: time.Now}, nil
}

// Filter is a built audit_log instance. It is shared by every loop.
type Filter struct {
	w   *observe.LineWriter
	now func() time.Time // when Exchange.Now is unset; tests replace it
}

// Request lets every request through: the line is written in Finish.
// Any loop.
func (f *Filter) Request(*filter.Exchange) filter.Verdict { return filter.Continue }

// Finish queues the request's audit line. It reads Exchange.Method and
// Exchange.Path, which the engine keeps valid until Finish. A line the
// writer cannot take (disk too slow) is dropped and counted in Dropped.
// Any loop; does not block or allocate.
func (f *Filter) Finish(x *filter.Exchange) {
	at := x.Now
	if at == 0 {
		at = f.now().UnixNano()
	}
	f.w.Append(func(b []byte) []byte { return appendLine(b, x, at) })
}

// Dropped is the number of audit lines lost so far (for metrics). Any
// goroutine.
func (f *Filter) Dropped() uint64 { return f.w.Dropped() }

// Close writes the queued lines and closes the file. The pipeline calls it
// when the filter's snapshot is retired.
func (f *Filter) Close() error { return f.w.Close() }

var (
	_ filter.Finisher = (*Filter)(nil)
	_ filter.Closer   = (*Filter)(nil)
)
