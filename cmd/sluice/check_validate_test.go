package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckValidateConfig: `sluice -check` refuses a validate instance with
// a bad setting, or whose schema file is not JSON or not a valid schema,
// naming the config position, the schema file (with line:column when it is
// not JSON, resolved against the config's directory) and what is wrong.
func TestCheckValidateConfig(t *testing.T) {
	cases := []struct {
		name, inst, schema string
		want               string // after the config file's name
	}{
		{"max_body past the cap", "{type: validate, max_body: 8MiB}", "",
			":5:33: middleware.v.max_body: 8MiB is past the largest body checked, 4MiB"},
		{"schema file missing", "{type: validate, json_schema: schemas/none.json}", "",
			":5:36: middleware.v.json_schema: open {dir}/schemas/none.json: no such file or directory"},
		{"schema not JSON", "{type: validate, json_schema: schemas/s.json}", "{\n  \"type\": object\n}",
			":5:36: middleware.v.json_schema: {dir}/schemas/s.json:2:11: not JSON: invalid character 'o'"},
		{"not a schema", "{type: validate, json_schema: schemas/s.json}", `{"type": "objekt"}`,
			":5:36: middleware.v.json_schema: {dir}/schemas/s.json: not a valid JSON Schema: /type: enum: value must be one of 'array'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, `listen: 127.0.0.1:18999
clusters:
  a: {targets: [{url: "http://127.0.0.1:9"}]}
middleware:
  v: `+tc.inst+`
routes:
  - {name: r, match: {path: /x}, cluster: a, middleware: [v]}
`)
			dir := filepath.Dir(cfg)
			if tc.schema != "" {
				if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "schemas", "s.json"), []byte(tc.schema), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			if code := run([]string{"-check", "-config", cfg}, &out); code != 1 {
				t.Fatalf("exit %d, want 1; output:\n%s", code, out.String())
			}
			if want := cfg + strings.ReplaceAll(tc.want, "{dir}", dir); !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		})
	}
}
