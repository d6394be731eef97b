// Command report is the bookkeeping half of bench/run.sh.
//
//	report table -dir OUT_DIR [-targets "direct sluice nginx haproxy"] [-scenarios "small-c64 ..."]
//	    print the markdown tables of a run from OUT_DIR/wrk/*.txt and OUT_DIR/mem/*.txt
//	report plot -dir OUT_DIR -out FILE.png [-targets ...] [-scenarios ...]
//	    draw the latency percentile curves of a run, one panel per scenario; print FILE.png
//	report proc -pid PID
//	    print "ticks=N rss_kib=N fds=N procs=N" summed over PID and its descendants
//	report tree -pid PID
//	    print PID and its descendants, space separated (for stopping a tree by PID)
//	report wait -url URL [-len N] [-timeout 30s] [-pid PID]
//	    wait until URL answers 200 (with an N-byte body); fail early if PID exits
//
// A wrk file is OUT_DIR/wrk/<scenario>__<target>__r<round>.txt: wrk's own
// output (--latency), then what bench/wrk/summary.lua's done() prints:
//
//	percentile 99.9 2310    latency at 50 75 90 95 99 99.9 99.99 %, integer µs
//	status 200: 123456      per-status counts, when the script counted them
//
// then the lines the runner appends:
//
//	wall_s: 5.01            measured wall time of the wrk run
//	clk_tck: 100
//	proxy_ticks: 480        utime+stime of the proxy tree during the run (absent for direct)
//	upstream_ticks: 250     same for the upstream
//
// Files without percentile lines (older runs, plain wrk) still parse: the
// table shows "-" for p99.9 and the plot uses wrk's 50/75/90/99 % lines.
//
// The table has one row per scenario and target (direct, sluice,
// sluice-plain, sluice-obs, sluice-l2, nginx, haproxy, or any other name
// found): medians over the rounds of req/s, p50, p99, p99.9, proxy CPU%,
// CPU seconds per 10k requests and requests per CPU second (both of the
// proxy, for direct of the upstream), the req/s ratios "x direct", "x nginx",
// "x haproxy" and "x plain" paired per round (median of the per-round
// ratios; "-" when the reference did not run in that scenario), the errors
// summed over the rounds and the spread of req/s over the rounds. A second
// table lists the idle-connection memory of every OUT_DIR/mem/<target>.txt.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report table|plot|proc|tree|wait [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "table":
		err = table(os.Args[2:], os.Stdout, os.Stderr)
	case "plot":
		err = plotCmd(os.Args[2:], os.Stdout, os.Stderr)
	case "proc":
		err = proc(os.Args[2:])
	case "tree":
		err = tree(os.Args[2:])
	case "wait":
		err = wait(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}
