package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// result is one wrk run, parsed from its file. Unknown numbers are NaN.
type result struct {
	rps      float64             // wrk's Requests/sec
	requests float64             // completed requests (wrk's "N requests in"), else rps × wall
	pct      map[float64]float64 // latency in ms by percentile (50, 99.9, ...)
	wall     float64             // measured wall time in seconds; 0 when unknown
	proxyCPU float64             // CPU seconds of the proxy tree during the run
	proxySys float64             // the kernel (stime) part of proxyCPU
	upCPU    float64             // CPU seconds of the upstream during the run
	errs     int64               // socket errors + non-2xx
}

// parseWrk reads one wrk file (see the package comment for its format).
func parseWrk(file string) (result, error) {
	r := result{rps: math.NaN(), requests: math.NaN(), proxyCPU: math.NaN(), proxySys: math.NaN(), upCPU: math.NaN()}
	b, err := os.ReadFile(file)
	if err != nil {
		return r, err
	}
	var tck, pt, pst, ut float64 = 100, -1, -1, -1
	var non2xx, luaNon2xx int64
	luaSeen := false
	wrkPct, luaPct := map[float64]float64{}, map[float64]float64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch {
		case f[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in": // "339079 requests in 5.00s, 1.35GB read"
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				r.requests = v
			}
		case len(f) == 2 && strings.HasSuffix(f[0], "%"): // "99%    1.59ms" under Latency Distribution
			if p, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64); err == nil {
				wrkPct[p] = latencyMs(f[1])
			}
		case f[0] == "percentile" && len(f) == 3: // from summary.lua: "percentile 99.9 2310" (µs)
			p, err1 := strconv.ParseFloat(f[1], 64)
			us, err2 := strconv.ParseFloat(f[2], 64)
			if err1 == nil && err2 == nil {
				luaPct[p] = us / 1000
			}
		case f[0] == "Socket" && f[1] == "errors:":
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 3; i < len(f); i += 2 {
				v, _ := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				r.errs += v
			}
		case f[0] == "Non-2xx":
			non2xx, _ = strconv.ParseInt(f[len(f)-1], 10, 64)
		case f[0] == "status" && len(f) == 3: // from summary.lua: "status 200: 123"
			luaSeen = true
			code, _ := strconv.Atoi(strings.TrimSuffix(f[1], ":"))
			v, _ := strconv.ParseInt(f[2], 10, 64)
			if code/100 != 2 {
				luaNon2xx += v
			}
		case f[0] == "wall_s:":
			r.wall, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "clk_tck:":
			tck, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "proxy_ticks:":
			pt, _ = strconv.ParseFloat(f[1], 64)
		case f[0] == "proxy_sys_ticks:":
			pst, _ = strconv.ParseFloat(f[1], 64)
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
	// summary.lua's integer µs are exact; wrk's own lines are rounded to
	// two decimals, so they only fill in what the script did not print.
	r.pct = wrkPct
	for p, v := range luaPct {
		r.pct[p] = v
	}
	if math.IsNaN(r.requests) && r.wall > 0 {
		r.requests = r.rps * r.wall
	}
	if pt >= 0 && tck > 0 {
		r.proxyCPU = pt / tck
	}
	if pst >= 0 && tck > 0 {
		r.proxySys = pst / tck
	}
	if ut >= 0 && tck > 0 {
		r.upCPU = ut / tck
	}
	return r, nil
}

// latency returns the latency in ms at percentile p, NaN when absent.
func (r result) latency(p float64) float64 {
	if v, ok := r.pct[p]; ok {
		return v
	}
	return math.NaN()
}

// cpuPct is the proxy's CPU over the run's wall time, 100 = one core.
func (r result) cpuPct() float64 {
	if r.wall <= 0 {
		return math.NaN()
	}
	return r.proxyCPU / r.wall * 100
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
