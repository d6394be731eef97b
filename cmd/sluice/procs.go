package main

import (
	"log/slog"
	"os"
	"runtime"
)

// spareProcs gives the Go scheduler one more P than there are event loops,
// unless GOMAXPROCS is set in the environment (then the operator decides).
//
// Why: a loop spends most of its time in syscalls (read, write, epoll_wait).
// With no idle P, the runtime's sysmon takes the P of a goroutine that sits
// in one syscall across two of its ticks (20 µs and up) and hands it to
// another thread, so the loop goroutine hops between OS threads and sysmon
// keeps waking every 20 µs; on the proxy's own core that is a context switch
// storm. With one P idle, sysmon leaves a P in a syscall alone for up to
// 10 ms and backs off to its long sleep. Measured with -loops 1 pinned to one
// core, wrk -c256 (docs/BENCHMARKS.md, issue 7): context switches per
// request 0.12-0.15 -> 0.04-0.08 and p99.9 8-29 ms -> 7-10 ms, at the same
// requests per CPU-second. The spare P costs nothing while it is idle: the
// process still uses only the cores it is given.
func spareProcs(loops int, log *slog.Logger) {
	if n, ok := procsFor(loops, os.Getenv("GOMAXPROCS")); ok {
		runtime.GOMAXPROCS(n)
		log.Debug("GOMAXPROCS raised to loops+1", "gomaxprocs", n)
	}
}

// procsFor is the GOMAXPROCS for loops event loops, and false when it must
// be left alone (set by the environment, or already enough).
func procsFor(loops int, env string) (int, bool) {
	if env != "" || loops <= 0 || runtime.GOMAXPROCS(0) > loops {
		return 0, false
	}
	return loops + 1, true
}
