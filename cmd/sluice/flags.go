package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/config"
)

// flags are the command line. Every flag that tunes the gateway overrides
// the config key named in its help text, but only when given explicitly.
type flags struct {
	config       string
	check        bool
	loops        int
	reusePort    bool
	lockOSThread bool
	readBuffer   sizeFlag
	writeBuffer  sizeFlag
	maxIdle      int
	maxConns     countFlag
	idleTimeout  time.Duration
	drainTimeout time.Duration
	logLevel     string
	logFormat    string
	cpuProfile   string
	version      bool

	admin         string
	adminPprof    bool
	watchConfig   bool
	shutdownDelay time.Duration

	// set holds the names of the flags given on the command line (see
	// record): only those override the file, at start and on every reload.
	set map[string]bool
}

func newFlags(out io.Writer) (*flag.FlagSet, *flags) {
	f := &flags{readBuffer: 64 << 10, writeBuffer: 64 << 10} // the config defaults
	fs := flag.NewFlagSet("sluice", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.config, "config", "", "config `file` (YAML); empty runs the embedded quickstart with its demo upstreams")
	fs.BoolVar(&f.check, "check", false, "validate the config and exit: 0 when valid, 1 with file:line:column errors")
	fs.IntVar(&f.loops, "loops", 0, "event loops; 0 = GOMAXPROCS (server.loops)")
	fs.BoolVar(&f.reusePort, "reuseport", true, "one SO_REUSEPORT listener per loop (server.reuseport)")
	fs.BoolVar(&f.lockOSThread, "lock-os-thread", false, "pin each event loop to an OS thread (server.lock_os_thread)")
	fs.Var(&f.readBuffer, "read-buffer", "per-loop read buffer, e.g. 64KiB (server.read_buffer)")
	fs.Var(&f.writeBuffer, "write-buffer", "socket send buffer (SO_SNDBUF), e.g. 256KiB; 0 = kernel default (server.write_buffer)")
	fs.Var(&f.maxConns, "max-conns", "cap on open client connections, all loops together; past it a 503 and close; 0 = only the cap the fd limit sets (limits.max_connections)")
	fs.IntVar(&f.maxIdle, "upstream-max-idle", 128, "idle keep-alive connections per upstream target per loop, all clusters (cluster pool.max_idle_per_target)")
	fs.DurationVar(&f.idleTimeout, "upstream-idle-timeout", 90*time.Second, "close idle upstream connections after this, all clusters (cluster pool.idle_timeout)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGTERM/SIGINT, time allowed for requests in flight (server.drain_timeout)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (server.log_level)")
	fs.StringVar(&f.logFormat, "log-format", "text", "operational log lines as text or json (server.log_format)")
	fs.BoolVar(&f.version, "version", false, "print the version and the Go version, then exit")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile to `file` from start to stop (for benchmarking)")
	fs.StringVar(&f.admin, "admin", "127.0.0.1:9901", "admin API `address` (host:port); \"\" turns it off (admin)")
	fs.BoolVar(&f.adminPprof, "admin-pprof", false, "serve Go profiles at /debug/pprof/ on the admin listener")
	fs.BoolVar(&f.watchConfig, "watch-config", false, "reload when the config file changes (its mtime or size, checked every second)")
	fs.DurationVar(&f.shutdownDelay, "shutdown-delay", 0, "on SIGTERM/SIGINT, fail /readyz and keep serving this long before draining, so load balancers stop sending first")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: sluice [flags]\n       sluice hash-key [KEY]\n       sluice status|routes [-admin ADDR]\n\nSluice is an HTTP/1.1 API gateway. Flags override the config file.\n\n")
		fs.PrintDefaults()
	}
	return fs, f
}

// record notes which flags the command line gave; call it after Parse.
func (f *flags) record(fs *flag.FlagSet) {
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
}

// apply copies the flags the command line gave over cfg. Reloads call it
// too, so a flag keeps winning over the file.
func (f *flags) apply(cfg *config.Config) {
	for name := range f.set {
		switch name {
		case "loops":
			cfg.Server.Loops = f.loops
		case "reuseport":
			cfg.Server.ReusePort = f.reusePort
		case "lock-os-thread":
			cfg.Server.LockOSThread = f.lockOSThread
		case "read-buffer":
			cfg.Server.ReadBuffer = config.ByteSize(f.readBuffer)
		case "write-buffer":
			cfg.Server.WriteBuffer = config.ByteSize(f.writeBuffer)
		case "drain-timeout":
			cfg.Server.DrainTimeout = config.Duration(f.drainTimeout)
		case "log-level":
			cfg.Server.LogLevel = f.logLevel
		case "log-format":
			cfg.Server.LogFormat = f.logFormat
		case "admin":
			cfg.Admin = f.admin
		case "max-conns":
			cfg.Limits.MaxConnections = int(f.maxConns)
		}
	}
	for _, c := range cfg.Clusters {
		if f.set["upstream-max-idle"] {
			c.Pool.MaxIdlePerTarget = f.maxIdle
		}
		if f.set["upstream-idle-timeout"] {
			c.Pool.IdleTimeout = config.Duration(f.idleTimeout)
		}
	}
}

// sizeFlag is a byte size flag that takes the config file's units.
type sizeFlag int64

func (s *sizeFlag) String() string { return config.ByteSize(*s).String() }

func (s *sizeFlag) Set(v string) error {
	b, err := config.ParseByteSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(b)
	return nil
}

// countFlag is a non-negative count flag (0 usually means "no cap").
type countFlag int

func (c *countFlag) String() string { return strconv.Itoa(int(*c)) }

func (c *countFlag) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return errors.New("want a whole number >= 0")
	}
	*c = countFlag(n)
	return nil
}
