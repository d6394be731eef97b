package k6check

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// TestScripts evaluates every scenario script against stub k6 modules, validates its options,
// runs a few iterations against a recording server and checks the requests are the scenario's.
func TestScripts(t *testing.T) {
	tests := []struct {
		file  string
		env   map[string]string
		iters int
		want  func(t *testing.T, reqs []request)
	}{
		// Plain GET of /.
		{"get.js", nil, 3, func(t *testing.T, reqs []request) {
			for _, r := range reqs {
				if r.Method != "GET" || r.Path != "/" || r.BodyLen != 0 {
					t.Errorf("request %+v, want GET / without a body", r)
				}
			}
		}},
		// URL_PATH and HEADERS (the wrk -H equivalent) apply to every request.
		{"get.js", map[string]string{"URL_PATH": "/4k.bin", "HEADERS": "X-Bench: small; X-Other: a:b"}, 2, func(t *testing.T, reqs []request) {
			for _, r := range reqs {
				if r.Path != "/4k.bin" || r.Header.Get("X-Bench") != "small" || r.Header.Get("X-Other") != "a:b" {
					t.Errorf("request %s %v, want /4k.bin with X-Bench: small, X-Other: a:b", r.Path, r.Header)
				}
			}
		}},
		// POST with the same 1 KiB body as bench/wrk/post.lua.
		{"post.js", nil, 2, func(t *testing.T, reqs []request) {
			for _, r := range reqs {
				if r.Method != "POST" || r.BodyLen != 1024 || r.Header.Get("Content-Type") != "application/octet-stream" {
					t.Errorf("request %s %d bytes %v, want POST of 1024 octet-stream bytes", r.Method, r.BodyLen, r.Header)
				}
			}
		}},
		// The bearer token from BENCH_TOKEN, next to the route header.
		{"bearer.js", map[string]string{"BENCH_TOKEN": "aaa.bbb.ccc", "HEADERS": "X-Bench: edge"}, 2, func(t *testing.T, reqs []request) {
			for _, r := range reqs {
				if r.Header.Get("Authorization") != "Bearer aaa.bbb.ccc" || r.Header.Get("X-Bench") != "edge" {
					t.Errorf("headers %v, want Authorization: Bearer aaa.bbb.ccc and X-Bench: edge", r.Header)
				}
			}
		}},
		// A different key per iteration, cycling over BENCH_KEYS.
		{"keys.js", map[string]string{"BENCH_KEYS": "3"}, 7, func(t *testing.T, reqs []request) {
			want := []string{"k0", "k1", "k2", "k0", "k1", "k2", "k0"}
			for i, r := range reqs {
				if got := r.Header.Get("X-Client-Key"); got != want[i] {
					t.Errorf("request %d: X-Client-Key %q, want %q", i, got, want[i])
				}
			}
		}},
		// The default key space is 10000 keys: no repeats in a short run.
		{"keys.js", nil, 20, func(t *testing.T, reqs []request) {
			seen := map[string]bool{}
			for _, r := range reqs {
				seen[r.Header.Get("X-Client-Key")] = true
			}
			if len(seen) != len(reqs) || seen[""] {
				t.Errorf("%d distinct keys in %d requests (%v)", len(seen), len(reqs), seen)
			}
		}},
		// A different route per iteration, cycling over BENCH_ROUTES.
		{"routes.js", map[string]string{"BENCH_ROUTES": "2"}, 4, func(t *testing.T, reqs []request) {
			want := []string{"/svc0/items/0", "/svc1/items/1", "/svc0/items/0", "/svc1/items/1"}
			for i, r := range reqs {
				if r.Method != "GET" || r.Path != want[i] {
					t.Errorf("request %d: %s %s, want GET %s", i, r.Method, r.Path, want[i])
				}
			}
		}},
		// The default 100 routes: all distinct within 100 iterations.
		{"routes.js", nil, 100, func(t *testing.T, reqs []request) {
			seen := map[string]bool{}
			for _, r := range reqs {
				seen[r.Path] = true
			}
			if len(seen) != 100 || !seen["/svc99/items/99"] {
				t.Errorf("%d distinct paths in %d requests", len(seen), len(reqs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := &recorder{}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			env := map[string]string{"BASE_URL": srv.URL + "/"} // the trailing slash is dropped
			for k, v := range tt.env {
				env[k] = v
			}
			s, err := load(t, tt.file, env)
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range checkOptions(exportedOptions(t, s)) {
				t.Error(err)
			}
			if err := s.iterate(tt.iters); err != nil {
				t.Fatal(err)
			}
			if len(s.failed) > 0 {
				t.Errorf("failed checks: %v", s.failed)
			}
			reqs := rec.requests()
			if len(reqs) != tt.iters {
				t.Fatalf("%d requests for %d iterations, want one each", len(reqs), tt.iters)
			}
			tt.want(t, reqs)
			if _, ok := goja.AssertFunction(s.exports.Get("handleSummary")); !ok {
				t.Error("no handleSummary exported")
			}
		})
	}
}

// TestOptionsFromEnv checks the executor and threshold knobs and that bad values stop the init
// context, as they would stop k6.
func TestOptionsFromEnv(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    string // substring of the options' JSON
		wantErr string // substring of the init error; "" for none
	}{
		// Defaults: 1000/s for 30s, p99 < 250 ms, < 1 % failed.
		{nil, `"get":{"duration":"30s","executor":"constant-arrival-rate","maxVUs":200,"preAllocatedVUs":50,"rate":1000,"timeUnit":"1s"}`, ""},
		{nil, `"thresholds":{"http_req_duration":["p(99)<250"],"http_req_failed":["rate<0.01"]}`, ""},
		// Every knob of the constant executor.
		{map[string]string{"RATE": "500", "DURATION": "1m", "PRE_VUS": "10", "MAX_VUS": "20", "TIME_UNIT": "100ms"},
			`"duration":"1m","executor":"constant-arrival-rate","maxVUs":20,"preAllocatedVUs":10,"rate":500,"timeUnit":"100ms"`, ""},
		// Ramping: up, hold, down.
		{map[string]string{"EXECUTOR": "ramping", "RATE": "300", "RAMP_UP": "5s", "HOLD": "20s", "RAMP_DOWN": "2s"},
			`"stages":[{"duration":"5s","target":300},{"duration":"20s","target":300},{"duration":"2s","target":0}]`, ""},
		{map[string]string{"EXECUTOR": "ramping-arrival-rate"}, `"executor":"ramping-arrival-rate"`, ""},
		// A bare number is seconds, as DURATION is for bench/run.sh.
		{map[string]string{"DURATION": "10"}, `"duration":"10s"`, ""},
		// Threshold overrides.
		{map[string]string{"P99_MS": "2.5", "MAX_ERROR_RATE": "0"}, `["p(99)<2.5"],"http_req_failed":["rate<0"]`, ""},
		// Typos stop the run instead of silently running defaults.
		{map[string]string{"EXECUTOR": "constant-vus"}, "", "EXECUTOR=constant-vus"},
		{map[string]string{"RATE": "1k"}, "", "RATE=1k"},
		{map[string]string{"DURATION": "10 s"}, "", "DURATION=10 s"},
		{map[string]string{"P99_MS": "-1"}, "", "P99_MS=-1"},
		{map[string]string{"HEADERS": "X-Bench edge"}, "", "HEADERS"},
	}
	for _, tt := range tests {
		s, err := load(t, "get.js", tt.env)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("env %v: error %v, want one mentioning %q", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("env %v: %v", tt.env, err)
			continue
		}
		opts := exportedOptions(t, s)
		for _, err := range checkOptions(opts) {
			t.Errorf("env %v: %v", tt.env, err)
		}
		if got := compactJSON(opts); !strings.Contains(got, tt.want) {
			t.Errorf("env %v: options %s\nwant them to contain %s", tt.env, got, tt.want)
		}
	}
	// bearer.js refuses to run without a token.
	if _, err := load(t, "bearer.js", nil); err == nil || !strings.Contains(err.Error(), "BENCH_TOKEN") {
		t.Errorf("bearer.js without BENCH_TOKEN: error %v, want one mentioning BENCH_TOKEN", err)
	}
}

// TestHandleSummary feeds handleSummary a k6-shaped data object: the full JSON must go to
// SUMMARY_FILE and a short text with the thresholds' verdicts to stdout.
func TestHandleSummary(t *testing.T) {
	const data = `{"metrics": {
		"http_reqs": {"type": "counter", "values": {"count": 1234, "rate": 411.3}},
		"http_req_failed": {"type": "rate", "values": {"rate": 0.02}, "thresholds": {"rate<0.01": {"ok": false}}},
		"http_req_duration": {"type": "trend", "values": {"med": 1.25, "p(99)": 3.5},
			"thresholds": {"p(99)<250": {"ok": true}}}},
		"state": {"testRunDurationMs": 3000}}`
	for _, tt := range []struct{ env map[string]string }{
		{nil}, // SUMMARY_FILE defaults to summary.json
		{map[string]string{"SUMMARY_FILE": "out/run1.json"}},
	} {
		s, err := load(t, "get.js", tt.env)
		if err != nil {
			t.Fatal(err)
		}
		file := tt.env["SUMMARY_FILE"]
		if file == "" {
			file = "summary.json"
		}
		hs, _ := goja.AssertFunction(s.exports.Get("handleSummary"))
		in, err := s.rt.RunString("(" + data + ")")
		if err != nil {
			t.Fatal(err)
		}
		v, err := hs(goja.Undefined(), in)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := v.Export().(map[string]any)
		if len(out) != 2 {
			t.Errorf("handleSummary returned keys %v, want %s and stdout", keys(out), file)
		}
		var got, want any
		if err := json.Unmarshal([]byte(out[file].(string)), &got); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		_ = json.Unmarshal([]byte(data), &want)
		if g, w := compactJSON(got), compactJSON(want); g != w {
			t.Errorf("%s = %s, want the data unchanged: %s", file, g, w)
		}
		stdout, _ := out["stdout"].(string)
		for _, line := range []string{"get: 1234 requests, 411.3/s, failed 2.00%",
			"p50 1.25ms", "p99 3.50ms", "threshold http_req_failed rate<0.01: FAILED",
			"threshold http_req_duration p(99)<250: ok", "summary: " + file} {
			if !strings.Contains(stdout, line) {
				t.Errorf("stdout lacks %q:\n%s", line, stdout)
			}
		}
	}
}

// TestErrorsPointAtTheSource: a syntax error in a script is reported as file:line, and module
// syntax the converter does not handle fails loudly instead of being skipped.
func TestErrorsPointAtTheSource(t *testing.T) {
	src := "import { check } from 'k6';\n\nexport default function () {\n  check(1, {);\n}\n"
	fn, err := toFunction("broken.js", src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compile("broken.js", fn); err == nil || !strings.HasPrefix(err.Error(), "broken.js:4:14: SyntaxError") {
		t.Errorf("compile error %v, want it at broken.js:4", err)
	}
	if _, err := toFunction("reexport.js", "// x\nexport { a };\n"); err == nil || !strings.HasPrefix(err.Error(), "reexport.js:2:") {
		t.Errorf("conversion error %v, want it at remote.js:2", err)
	}
}

func exportedOptions(t *testing.T, s *script) map[string]any {
	t.Helper()
	opts, ok := s.exports.Get("options").Export().(map[string]any)
	if !ok {
		t.Fatal("no options object exported")
	}
	return opts
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// compactJSON is v as JSON with map keys sorted and without HTML escapes ("p(99)<250").
func compactJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSpace(b.String())
}
