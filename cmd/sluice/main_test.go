package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheck pins `sluice -check`: 0 for a valid file, 1 with file:line:column
// for each error, like nginx -t.
func TestCheck(t *testing.T) {
	good := writeFile(t, `listen: 127.0.0.1:18999
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
routes:
  - {name: r, match: {path: /x}, cluster: a}
`)
	bad := writeFile(t, `listen: 127.0.0.1:18999
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
routes:
  - name: r
    match: {path: /x}
    cluster: b
    timeout: 3s
`)
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"valid file", []string{"-check", "-config", good}, 0, []string{"configuration ok"}},
		{"embedded quickstart", []string{"-check"}, 0, []string{"quickstart.yaml (embedded)", "configuration ok"}},
		{"dangling cluster and unknown key, both reported", []string{"-check", "-config", bad}, 1,
			[]string{bad + ":7:14: routes[0].cluster: unknown cluster \"b\"", bad + ":8:5: routes[0].timeout: unknown key"}},
		{"missing file", []string{"-check", "-config", "/nonexistent.yaml"}, 1, []string{"nonexistent.yaml"}},
		{"bad flag value", []string{"-check", "-read-buffer", "lots"}, 2, []string{"invalid value \"lots\""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if code := run(tc.args, &out); code != tc.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tc.code, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestHelpListsEveryFlagWithDefault keeps -help and the README honest.
func TestHelpListsEveryFlagWithDefault(t *testing.T) {
	var out bytes.Buffer
	run([]string{"-help"}, &out)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config", "check", "loops", "reuseport", "lock-os-thread", "read-buffer", "write-buffer",
		"max-conns", "upstream-max-idle", "upstream-idle-timeout", "drain-timeout", "log-level", "log-format", "cpuprofile",
		"admin", "admin-pprof", "watch-config", "shutdown-delay", "version"} {
		if !strings.Contains(out.String(), "-"+f) {
			t.Errorf("-help does not list -%s", f)
		}
		if !strings.Contains(string(readme), "`-"+f) {
			t.Errorf("README does not list -%s", f)
		}
	}
	for _, d := range []string{"(default 64KiB)", "(default 128)", "(default 1m30s)", "(default 30s)", "(default true)", `(default "info")`, `(default "127.0.0.1:9901")`} {
		if !strings.Contains(out.String(), d) {
			t.Errorf("-help lacks default %s:\n%s", d, out.String())
		}
	}
}

// TestDefaultsAgree: each flag that overrides a server key shows the
// config's default, and so do the README's flag table and
// configs/reference.yaml (write_buffer once said 0 in the README and
// 64KiB everywhere else; the code uses 64KiB).
func TestDefaultsAgree(t *testing.T) {
	fs, _ := newFlags(io.Discard)
	def := config.Default().Server
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../../configs/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, key, want, readmeRow string }{
		{"write-buffer", "write_buffer", def.WriteBuffer.String(), "| `-write-buffer SIZE` | " + def.WriteBuffer.String() + " |"},
		{"read-buffer", "read_buffer", def.ReadBuffer.String(), "| `-read-buffer SIZE` | " + def.ReadBuffer.String() + " |"},
		{"log-level", "log_level", def.LogLevel, "| `-log-level L` | " + def.LogLevel + " |"},
		{"log-format", "log_format", def.LogFormat, "| `-log-format F` | " + def.LogFormat + " |"},
		{"drain-timeout", "drain_timeout", def.DrainTimeout.String(), "| `-drain-timeout D` | " + def.DrainTimeout.String() + " |"},
	} {
		if got := fs.Lookup(tc.flag).DefValue; got != tc.want {
			t.Errorf("-%s default %q, config default %q", tc.flag, got, tc.want)
		}
		if !strings.Contains(string(readme), tc.readmeRow) {
			t.Errorf("README lacks %q", tc.readmeRow)
		}
		if !strings.Contains(string(ref), "\n  "+tc.key+": "+tc.want+"\n") {
			t.Errorf("configs/reference.yaml lacks server.%s: %s", tc.key, tc.want)
		}
	}
	if strings.Contains(string(ref), "No types exist") {
		t.Error("configs/reference.yaml still says no middleware types exist")
	}
}

// TestStartFailureLogsAsJSON: with log_format json, a listener that cannot
// bind is reported as a JSON log line too (exit 1), not as bare text.
func TestStartFailureLogsAsJSON(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := writeFile(t, fmt.Sprintf(`listen: %q
admin: ""
server: {loops: 1, reuseport: false, log_format: json}
access_log: {enabled: false}
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
routes:
  - {name: r, match: {path: /x}, cluster: a}
`, busy.Addr().String()))
	var out bytes.Buffer
	if code := run([]string{"-config", cfg}, &out); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out.String())
	}
	sawFailure := false
	for line := range strings.Lines(out.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("not a JSON line: %q", line)
			continue
		}
		sawFailure = sawFailure || m["msg"] == "listener failed" && m["level"] == "ERROR"
	}
	if !sawFailure {
		t.Errorf("no listener failed line:\n%s", out.String())
	}
}
