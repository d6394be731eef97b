package main

import (
	"flag"
	"fmt"
	"io"
	"math"
)

// plainRef names, per target, the row its "x plain" column is paired with:
// Sluice without the feature under test, measured in the same rounds.
// sluice (on a scenario's own route) against sluice-plain, the same process
// on the plain route: what the route's middleware costs. sluice-obs against
// sluice, the same requests without metrics and access log: what those cost.
// sluice-l2 (two loops, two cores) against sluice (one loop): how it scales.
var plainRef = map[string]string{
	"sluice":     "sluice-plain",
	"sluice-obs": "sluice",
	"sluice-l2":  "sluice",
}

// row is one line of the table; NaN renders as "-".
type row struct {
	sc, tg                       string
	rps, p50, p99, p999          float64 // req/s; latencies in ms
	cpuPct, cpuPer10k, perCPUSec float64
	kernelPct                    float64 // share of the proxy's CPU spent in the kernel
	xDirect, xNginx, xHaproxy    float64
	xPlain                       float64
	errs                         int64
	spread                       string
}

func table(args []string, w, warn io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ExitOnError)
	dir := fs.String("dir", "", "run output directory")
	targetsF := fs.String("targets", "", "target order, space separated (default: as found)")
	scenariosF := fs.String("scenarios", "", "scenario order, space separated (default: as found)")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("table: -dir is required")
	}
	d := loadRun(*dir, warn)
	tgs := order(*targetsF, d.targets)

	fmt.Fprintln(w, "| scenario | target | req/s | p50 | p99 | p99.9 | proxy CPU% | kernel % | CPU-s per 10k req | req per CPU-s"+
		" | x direct | x nginx | x haproxy | x plain | errors | spread |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, sc := range order(*scenariosF, d.scenarios) {
		for _, tg := range tgs {
			if len(d.rounds[cell{sc, tg}]) == 0 {
				continue
			}
			r := d.row(sc, tg)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
				sc, tg, num(r.rps, "%.0f"), ms(r.p50), ms(r.p99), ms(r.p999),
				num(r.cpuPct, "%.0f"), num(r.kernelPct, "%.0f"), num(r.cpuPer10k, "%.3f"), num(r.perCPUSec, "%.0f"),
				num(r.xDirect, "%.2f"), num(r.xNginx, "%.2f"), num(r.xHaproxy, "%.2f"), num(r.xPlain, "%.2f"),
				r.errs, r.spread)
		}
	}
	return memTable(*dir, tgs, w)
}

// row summarises the rounds of one scenario and target.
func (d *runData) row(sc, tg string) row {
	rs := d.rounds[cell{sc, tg}]
	var rps, p50, p99, p999, cpu, kernel, per10k, perSec []float64
	out := row{sc: sc, tg: tg}
	for _, r := range rs {
		rps = append(rps, r.rps)
		p50 = append(p50, r.latency(50))
		p99 = append(p99, r.latency(99))
		p999 = append(p999, r.latency(99.9))
		cpu = append(cpu, r.cpuPct())
		if r.proxyCPU > 0 && !math.IsNaN(r.proxySys) {
			kernel = append(kernel, r.proxySys/r.proxyCPU*100)
		}
		// the cost of the component under test: the proxy, or for direct
		// (no proxy) the upstream that answered the requests
		c := r.proxyCPU
		if tg == "direct" {
			c = r.upCPU
		}
		if c > 0 && r.requests > 0 {
			per10k = append(per10k, c/r.requests*10000)
			perSec = append(perSec, r.requests/c)
		}
		out.errs += r.errs
	}
	out.rps, out.p50, out.p99, out.p999 = median(rps), median(p50), median(p99), median(p999)
	out.cpuPct, out.cpuPer10k, out.perCPUSec = median(cpu), median(per10k), median(perSec)
	out.kernelPct = median(kernel)
	out.xDirect = d.paired(sc, tg, "direct")
	out.xNginx = d.paired(sc, tg, "nginx")
	out.xHaproxy = d.paired(sc, tg, "haproxy")
	out.xPlain = math.NaN()
	if ref, ok := plainRef[tg]; ok {
		out.xPlain = d.paired(sc, tg, ref)
	}
	out.spread = spread(rps)
	return out
}

// paired is the median over the rounds of tg's req/s divided by ref's in
// the same round: slow drift of the host then cancels out. NaN when ref has
// no round in common with tg (it did not run in this scenario).
func (d *runData) paired(sc, tg, ref string) float64 {
	var q []float64
	refs := d.rounds[cell{sc, ref}]
	for round, r := range d.rounds[cell{sc, tg}] {
		if b, ok := refs[round]; ok && b.rps > 0 {
			q = append(q, r.rps/b.rps)
		}
	}
	return median(q)
}
