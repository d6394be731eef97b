// Command report is the bookkeeping half of bench/run.sh.
//
//	report table -dir OUT_DIR [-targets "direct sluice nginx"] [-scenarios "small-c64 ..."]
//	    print the markdown tables of a run from OUT_DIR/wrk/*.txt and OUT_DIR/mem/*.txt
//	report proc -pid PID
//	    print "ticks=N rss_kib=N fds=N procs=N" summed over PID and its descendants
//	report tree -pid PID
//	    print PID and its descendants, space separated (for stopping a tree by PID)
//	report wait -url URL [-len N] [-timeout 30s] [-pid PID]
//	    wait until URL answers 200 (with an N-byte body); fail early if PID exits
//
// A wrk file is OUT_DIR/wrk/<scenario>__<target>__r<round>.txt: wrk's own
// output (--latency) followed by lines the runner appends:
//
//	wall_s: 5.01            measured wall time of the wrk run
//	clk_tck: 100
//	proxy_ticks: 480        utime+stime of the proxy tree during the run (absent for direct)
//	upstream_ticks: 250     same for the upstream
//
// and, with bench/wrk/*.lua, "status NNN: count" lines from done().
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/bench/internal/procfs"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: report table|proc|tree|wait [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "table":
		err = table(os.Args[2:], os.Stdout)
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

// ------------------------------------------------------------------ proc, tree, wait

func pidFlag(name string, args []string) (int, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	pid := fs.Int("pid", 0, "root process id")
	fs.Parse(args)
	if *pid <= 0 {
		return 0, fmt.Errorf("%s: -pid is required", name)
	}
	return *pid, nil
}

func proc(args []string) error {
	pid, err := pidFlag("proc", args)
	if err != nil {
		return err
	}
	u, err := procfs.Read(pid)
	if err != nil {
		return err
	}
	fmt.Printf("ticks=%d rss_kib=%d fds=%d procs=%d\n", u.Ticks, u.RSSKiB, u.FDs, u.Procs)
	return nil
}

func tree(args []string) error {
	pid, err := pidFlag("tree", args)
	if err != nil {
		return err
	}
	var s []string
	for _, p := range procfs.Tree(pid) {
		s = append(s, strconv.Itoa(p))
	}
	fmt.Println(strings.Join(s, " "))
	return nil
}

func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	rawURL := fs.String("url", "", "URL to poll (loopback only)")
	wantLen := fs.Int("len", -1, "expected body length (-1: any)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	pid := fs.Int("pid", 0, "fail at once if this process exits (0: no check)")
	fs.Parse(args)
	u, err := url.Parse(*rawURL)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing non-loopback URL %q", *rawURL)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for end := time.Now().Add(*timeout); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if *pid > 0 && !procfs.Alive(*pid) {
			return fmt.Errorf("process %d exited before %s answered", *pid, *rawURL)
		}
		resp, err := client.Get(*rawURL)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode == 200 && (*wantLen < 0 || len(b) == *wantLen) {
			return nil
		}
		last = fmt.Errorf("status %d, %d body bytes (err %v)", resp.StatusCode, len(b), err)
	}
	return fmt.Errorf("%s not ready after %v: %v", *rawURL, *timeout, last)
}

// ------------------------------------------------------------------ table

// result is one wrk run.
type result struct {
	rps, p50, p99 float64 // p50/p99 in ms; NaN when missing
	proxyCPU      float64 // percent of one core; NaN when unknown
	upCPU         float64
	errs          int64 // socket errors + non-2xx
}

func table(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("table", flag.ExitOnError)
	dir := fs.String("dir", "", "run output directory")
	targetsF := fs.String("targets", "", "target order, space separated (default: as found)")
	scenariosF := fs.String("scenarios", "", "scenario order, space separated (default: as found)")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("table: -dir is required")
	}

	files, _ := filepath.Glob(filepath.Join(*dir, "wrk", "*__*__r*.txt"))
	sort.Strings(files)
	type cell struct{ sc, tg string }
	runs := map[cell]map[string]result{} // round -> result
	var scs, tgs []string
	seen := map[string]bool{}
	for _, f := range files {
		parts := strings.Split(strings.TrimSuffix(filepath.Base(f), ".txt"), "__")
		if len(parts) != 3 {
			continue
		}
		r, err := parseWrk(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, "report: warning:", err)
			continue
		}
		c := cell{parts[0], parts[1]}
		if runs[c] == nil {
			runs[c] = map[string]result{}
		}
		runs[c][parts[2]] = r
		if !seen["s"+c.sc] {
			seen["s"+c.sc] = true
			scs = append(scs, c.sc)
		}
		if !seen["t"+c.tg] {
			seen["t"+c.tg] = true
			tgs = append(tgs, c.tg)
		}
	}
	if *targetsF != "" {
		tgs = strings.Fields(*targetsF)
	}
	if *scenariosF != "" {
		scs = strings.Fields(*scenariosF)
	}

	fmt.Fprintln(w, "| scenario | target | req/s | p50 | p99 | proxy CPU% | req per CPU-s | x direct | x nginx | x plain | errors | spread |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, sc := range scs {
		for _, tg := range tgs {
			rs := runs[cell{sc, tg}]
			if len(rs) == 0 {
				continue
			}
			var rps, p50, p99, cpu, eff []float64
			var errs int64
			for _, r := range rs {
				rps = append(rps, r.rps)
				p50 = append(p50, r.p50)
				p99 = append(p99, r.p99)
				cpu = append(cpu, r.proxyCPU)
				// efficiency of the component under test: the proxy, or for direct the upstream
				c := r.proxyCPU
				if tg == "direct" {
					c = r.upCPU
				}
				if c > 0 {
					eff = append(eff, r.rps/(c/100))
				}
				errs += r.errs
			}
			paired := func(ref string) string {
				var q []float64
				for round, r := range rs {
					if b, ok := runs[cell{sc, ref}][round]; ok && b.rps > 0 {
						q = append(q, r.rps/b.rps)
					}
				}
				if len(q) == 0 {
					return "-"
				}
				return fmt.Sprintf("%.2f", median(q))
			}
			// "x plain": against Sluice without the feature under test, in
			// the same rounds. sluice (on a scenario's own route) against
			// sluice-plain, the same process on the plain route: what the
			// route's middleware costs. sluice-obs against sluice, the same
			// requests without metrics and access log: what those cost.
			xplain := "-"
			switch tg {
			case "sluice":
				if len(runs[cell{sc, "sluice-plain"}]) > 0 {
					xplain = paired("sluice-plain")
				}
			case "sluice-obs":
				xplain = paired("sluice")
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
				sc, tg, num(median(rps), "%.0f"), ms(median(p50)), ms(median(p99)),
				num(median(cpu), "%.0f"), num(median(eff), "%.0f"),
				paired("direct"), paired("nginx"), xplain, errs, spread(rps))
		}
	}

	mems, _ := filepath.Glob(filepath.Join(*dir, "mem", "*.txt"))
	if len(mems) == 0 {
		return nil
	}
	order := map[string]int{}
	for i, t := range tgs {
		order[t] = i + 1
	}
	rank := func(f string) int {
		if o := order[strings.TrimSuffix(filepath.Base(f), ".txt")]; o > 0 {
			return o
		}
		return len(tgs) + 1
	}
	sort.SliceStable(mems, func(i, j int) bool { return rank(mems[i]) < rank(mems[j]) })
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| idle conns | target | ok/n | still open | RSS before | RSS with conns | RSS after close | bytes/conn |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, f := range mems {
		kv := readKV(f)
		if kv["ok"] == "" {
			fmt.Fprintf(w, "| %s | %s | failed | | | | | |\n", kv["n"], strings.TrimSuffix(filepath.Base(f), ".txt"))
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s/%s | %s | %s | %s | %s | %s |\n", kv["n"], kv["name"], kv["ok"], kv["n"],
			kv["still_open"], mib(kv["rss_before_kib"]), mib(kv["rss_conns_kib"]), mib(kv["rss_closed_kib"]), kv["bytes_per_conn"])
		if e := kv["first_error"]; e != "" {
			fmt.Fprintf(w, "| | first error: %s | | | | | | |\n", strings.ReplaceAll(e, "|", "/"))
		}
	}
	return nil
}

func parseWrk(file string) (result, error) {
	r := result{rps: math.NaN(), p50: math.NaN(), p99: math.NaN(), proxyCPU: math.NaN(), upCPU: math.NaN()}
	b, err := os.ReadFile(file)
	if err != nil {
		return r, err
	}
	var wall, tck, pt, ut float64 = 0, 100, -1, -1
	var non2xx, luaNon2xx int64
	luaSeen := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch {
		case f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "50%" && len(f) == 2:
			r.p50 = latencyMs(f[1])
		case f[0] == "99%" && len(f) == 2:
			r.p99 = latencyMs(f[1])
		case f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				v, _ := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				r.errs += v
			}
		case f[0] == "Non-2xx":
			non2xx, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		case f[0] == "status" && len(f) == 3: // from bench/wrk/*.lua: "status 200: 123"
			luaSeen = true
			code, _ := strconv.Atoi(strings.TrimSuffix(f[1], ":"))
			v, _ := strconv.ParseInt(f[2], 10, 64)
			if code/100 != 2 {
				luaNon2xx += v
			}
		case f[0] == "wall_s:":
			wall, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "clk_tck:":
			tck, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "proxy_ticks:":
			pt, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "upstream_ticks:":
			ut, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	if math.IsNaN(r.rps) {
		return r, fmt.Errorf("%s: no Requests/sec line (wrk failed?)", file)
	}
	// wrk's own count is of status >= 400; the Lua scripts count every non-2xx.
	if luaSeen {
		r.errs += luaNon2xx
	} else {
		r.errs += non2xx
	}
	if wall > 0 && pt >= 0 {
		r.proxyCPU = pt / tck / wall * 100
	}
	if wall > 0 && ut >= 0 {
		r.upCPU = ut / tck / wall * 100
	}
	return r, nil
}

// latencyMs parses wrk's "812.00us", "1.65ms", "1.02s", "2.00m".
func latencyMs(s string) float64 {
	for _, u := range []struct {
		suf string
		k   float64
	}{{"us", 0.001}, {"ms", 1}, {"s", 1000}, {"m", 60000}} {
		if v, ok := strings.CutSuffix(s, u.suf); ok {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				return x * u.k
			}
		}
	}
	return math.NaN()
}

func median(xs []float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// spread is (max-min)/median of the rounds, in percent.
func spread(xs []float64) string {
	if len(xs) < 2 {
		return "-"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return fmt.Sprintf("%.0f%%", 100*(hi-lo)/median(xs))
}

func num(v float64, format string) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v < 1:
		return fmt.Sprintf("%.0fus", v*1000)
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.1fms", v)
}

func mib(kib string) string {
	v, err := strconv.ParseFloat(kib, 64)
	if err != nil {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", v/1024)
}

// readKV parses the last line of an idle result: key=value pairs, values
// optionally Go-quoted.
func readKV(file string) map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile(file)
	if err != nil {
		return m
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	s := lines[len(lines)-1]
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key, rest := s[:eq], s[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			val, rest = rest[:sp], rest[sp:]
		} else {
			val, rest = rest, ""
		}
		m[key] = val
		s = rest
	}
	return m
}
