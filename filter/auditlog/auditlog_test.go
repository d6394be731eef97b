package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/observe"
)

// configWith is a valid config whose admin route runs the middleware
// instance inst (YAML lines under `middleware:`, named audit).
func configWith(inst string) string {
	return `clusters:
  admin:
    targets:
      - url: http://127.0.0.1:9001
routes:
  - name: admin
    match: {path: /api/admin/*}
    cluster: admin
    middleware: [audit]
middleware:
` + inst
}

// buildFromYAML parses a config file in dir and builds its audit instance.
func buildFromYAML(t *testing.T, dir, inst string) *Filter {
	t.Helper()
	cfg, err := config.Parse(filepath.Join(dir, "sluice.yaml"), []byte(configWith(inst)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := filter.Build(cfg.Middleware["audit"])
	if err != nil {
		t.Fatal(err)
	}
	af, ok := f.(*Filter)
	if !ok {
		t.Fatalf("built %T", f)
	}
	return af
}

// record is the audit line's schema, as a consumer would decode it.
type record struct {
	Time      string `json:"time"`
	RequestID string `json:"request_id"`
	Route     string `json:"route"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	User      string `json:"user"`
	Consumer  string `json:"consumer"`
	ClientIP  string `json:"client_ip"`
	Upstream  string `json:"upstream"`
}

// readRecords decodes every line of the file strictly.
func readRecords(t *testing.T, path string) []record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []record
	for line := range strings.Lines(string(data)) {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var r record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// exchange is a finished request as the engine hands it to Finish.
func exchange() *filter.Exchange {
	x := &filter.Exchange{}
	x.Reset(nil)
	x.Now = time.Date(2025, 3, 4, 5, 6, 7, 890, time.UTC).UnixNano()
	x.RequestID = []byte("req-1")
	x.Route = "admin"
	x.Method = []byte("DELETE")
	x.Path = []byte("/api/admin/users/7")
	x.Status = 204
	x.Subject = []byte("alice")
	x.Consumer = []byte("ops-tool")
	x.ClientIP = netip.MustParseAddr("::ffff:192.0.2.9")
	x.Upstream = "127.0.0.1:9001"
	return x
}

func TestAuditLogFromConfig(t *testing.T) {
	dir := t.TempDir()
	f := buildFromYAML(t, dir, "  audit: {type: audit_log, path: audit.log}\n")
	x := exchange()
	if v := f.Request(x); v != filter.Continue {
		t.Fatalf("Request = %v", v)
	}
	f.Finish(x)
	// A request rejected before reaching anything: no identity, no upstream.
	y := &filter.Exchange{}
	y.Reset(nil)
	y.Now = x.Now
	y.Route, y.Method, y.Path, y.Status = "admin", []byte("GET"), []byte("/api/admin/"), 401
	f.Finish(y)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// The relative path is the config file's directory's.
	got := readRecords(t, filepath.Join(dir, "audit.log"))
	want := []record{
		{"2025-03-04T05:06:07.000000Z", "req-1", "admin", "DELETE", "/api/admin/users/7", 204, "alice", "ops-tool", "192.0.2.9", "127.0.0.1:9001"},
		{"2025-03-04T05:06:07.000000Z", "", "admin", "GET", "/api/admin/", 401, "", "", "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if f.Dropped() != 0 {
		t.Errorf("Dropped() = %d", f.Dropped())
	}
}

func TestAuditLogAppendsAcrossReloads(t *testing.T) {
	// A reload builds a new instance on the same file while the old one
	// may still be open: both append, nothing is truncated.
	dir := t.TempDir()
	inst := "  audit: {type: audit_log, path: audit.log}\n"
	old := buildFromYAML(t, dir, inst)
	old.Finish(exchange())
	cur := buildFromYAML(t, dir, inst)
	cur.Finish(exchange())
	old.Close()
	cur.Finish(exchange())
	cur.Close()
	if n := len(readRecords(t, filepath.Join(dir, "audit.log"))); n != 3 {
		t.Errorf("%d records, want 3", n)
	}
}

func TestAuditLogHostileValues(t *testing.T) {
	cases := []struct {
		name, path, want string
	}{
		{"quotes and backslashes", `/a"b\c`, `/a"b\c`},
		{"control bytes", "/a\x00b\x01\x1f\n\r\t", "/a\x00b\x01\x1f\n\r\t"},
		{"DEL and C1 controls", "/a\x7fb\u009bc\u0085", "/a\x7fb\u009bc\u0085"},
		{"forged JSON", `/","status":200,"user":"root`, `/","status":200,"user":"root`},
		{"invalid UTF-8", "/a\xffb\xc3", "/a\ufffdb\ufffd"},
		{"printable unicode kept", "/ünïcødé/日本/\u2028", "/ünïcødé/日本/\u2028"},
	}
	dir := t.TempDir()
	f := buildFromYAML(t, dir, "  audit: {type: audit_log, path: audit.log}\n")
	for _, tc := range cases {
		x := exchange()
		x.Path = []byte(tc.path)
		x.Subject = []byte(tc.path) // identity is client-influenced too
		x.RequestID = []byte(tc.path)
		f.Finish(x)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	// Nothing a terminal would act on reaches the file raw.
	for i, c := range bytes.TrimSuffix(raw, []byte("\n")) {
		if c == '\n' && i > 0 {
			continue
		}
		if c < 0x20 || c == 0x7f {
			t.Fatalf("raw control byte %#x at %d in %q", c, i, raw)
		}
	}
	if bytes.Contains(raw, []byte("\u009b")) || bytes.Contains(raw, []byte("\u0085")) {
		t.Errorf("raw C1 control in %q", raw)
	}
	got := readRecords(t, filepath.Join(dir, "audit.log"))
	if len(got) != len(cases) {
		t.Fatalf("%d records, want %d", len(got), len(cases))
	}
	for i, tc := range cases {
		r := got[i]
		if r.Path != tc.want || r.User != tc.want || r.RequestID != tc.want || r.Status != 204 {
			t.Errorf("%s: got path %q user %q id %q status %d, want %q", tc.name, r.Path, r.User, r.RequestID, r.Status, tc.want)
		}
	}
}

func TestAuditLogTimeFallback(t *testing.T) {
	// Without Exchange.Now the line carries the time of Finish.
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := observe.OpenLineWriter(path, observe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &Filter{w: w, now: func() time.Time { return at }}
	x := exchange()
	x.Now = 0
	f.Finish(x)
	f.Close()
	if r := readRecords(t, path); len(r) != 1 || r[0].Time != "2030-01-02T03:04:05.000000Z" {
		t.Errorf("records %+v", r)
	}
}

func TestAuditLogConfigErrors(t *testing.T) {
	cases := []struct {
		name, inst, want string
	}{
		// path is required.
		{"no path", "  audit: {type: audit_log}\n", "middleware.audit.path: required"},
		{"empty path", "  audit: {type: audit_log, path: \"\"}\n", "middleware.audit.path: required"},
		// Strict decoding, with positions.
		{"unknown key", "  audit: {type: audit_log, path: a.log, format: json}\n", `sluice.yaml:11:41: middleware.audit: unknown field "format"`},
		{"wrong type", "  audit: {type: audit_log, path: [a]}\n", "sluice.yaml:11:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("sluice.yaml", []byte(configWith(tc.inst)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %v\nwant …%s…", err, tc.want)
			}
		})
	}
}

func TestAuditLogPaths(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "abs.log")
	cases := []struct {
		name, path, want string
	}{
		{"relative to the config file", "logs/a.log", filepath.Join(dir, "conf", "logs", "a.log")},
		{"absolute kept", abs, abs},
		{"stdout kept", `"-"`, "-"}, // quoted: a plain "-" is a list entry in YAML 1.2
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse(filepath.Join(dir, "conf", "sluice.yaml"),
				[]byte(configWith("  audit: {type: audit_log, path: "+tc.path+"}\n")))
			if err != nil {
				t.Fatal(err)
			}
			if s := cfg.Middleware["audit"].Settings.(*Settings); s.Path != tc.want {
				t.Errorf("path = %q, want %q", s.Path, tc.want)
			}
		})
	}
}

func TestAuditLogBuildErrors(t *testing.T) {
	// The directory does not exist: Build fails with the file's position
	// and the OS error, so the config is refused.
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "sluice.yaml"),
		[]byte(configWith("  audit: {type: audit_log, path: missing/audit.log}\n")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = filter.Build(cfg.Middleware["audit"])
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "sluice.yaml:11:3: middleware.audit: audit_log:") {
		t.Errorf("err = %v", err)
	}
}

func TestAuditLogBuildWithoutParse(t *testing.T) {
	// An instance made in Go (no YAML node, no decoded Settings) is decoded
	// from Raw at Build.
	dir := t.TempDir()
	m := &config.Middleware{
		Name: "audit", Type: TypeName,
		Raw: []byte("type: audit_log\npath: a.log\n"),
		Pos: config.Pos{File: filepath.Join(dir, "c.yaml")},
	}
	f, err := filter.Build(m)
	if err != nil {
		t.Fatal(err)
	}
	f.(filter.Finisher).Finish(exchange())
	if err := f.(filter.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readRecords(t, filepath.Join(dir, "a.log"))); n != 1 {
		t.Errorf("%d records", n)
	}
}
