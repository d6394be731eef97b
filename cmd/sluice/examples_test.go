package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"
)

// Every config an operator may copy is checked by the real binary's
// -check (decode, validation and pipeline build, as at start-up):
//
//   - each file in configs/;
//   - in each, the commented-out middleware examples (`#   NAME: {type: …}`
//     lines), uncommented in place of `middleware: {}`;
//   - each ```yaml block of README.md and docs/*.md. A block whose first
//     line starts with "# fragment" is part of a larger config: it is merged
//     into exampleSkeleton (its mappings added to the skeleton's, its lists
//     appended) and the result is checked. A block whose first line says
//     "not a Sluice config" (a Kubernetes probe, say) is skipped.
//
// Each is checked as a copy in a temporary directory. Every environment
// variable an example names (`…_env: NAME`) is set to a stand-in token, and
// every key file it names (`public_key_file:`, `secret_file:`; bench/token
// writes bench-auth.yaml's) is a freshly made stand-in at that relative
// path. A JSON Schema an example names (`json_schema:`) is copied from
// configs/ when it is there (configs/schemas/order.json), else a stand-in
// schema is written at that path.

// exampleSkeleton is what fragments are merged into: the cluster the
// README's examples route to.
const exampleSkeleton = `clusters:
  users: {targets: [http://127.0.0.1:9001]}
`

var (
	envNameRE     = regexp.MustCompile(`\w+_env:\s*([A-Za-z_][A-Za-z0-9_]*)`)
	keyFileRE     = regexp.MustCompile(`(public_key|secret)_file:\s*([^\s,}]+)`)
	jsonSchemaRE  = regexp.MustCompile(`json_schema:\s*([^\s,}]+)`)
	mwExampleRE   = regexp.MustCompile(`(?m)^#   ([a-z_]+):\s+(\{type: .*\})\s*$`)
	emptyMwLineRE = regexp.MustCompile(`(?m)^middleware: \{\}\s*$`)
)

type example struct {
	name string // where it is written, for messages
	text string
}

func TestExamplesCheck(t *testing.T) {
	var examples []example
	configs, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(configs) == 0 {
		t.Fatalf("no configs: %v", err)
	}
	for _, p := range configs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p, "../../")
		examples = append(examples, example{name: name, text: string(b)})
		if ms := mwExampleRE.FindAllStringSubmatch(string(b), -1); len(ms) > 0 {
			if !emptyMwLineRE.MatchString(string(b)) {
				t.Errorf("%s: has commented-out middleware examples but no `middleware: {}` line to put them in", name)
				continue
			}
			var mw strings.Builder
			mw.WriteString("middleware:\n")
			for _, m := range ms {
				mw.WriteString("  " + m[1] + ": " + m[2] + "\n")
			}
			examples = append(examples, example{
				name: name + " (its commented-out middleware examples)",
				text: emptyMwLineRE.ReplaceAllLiteralString(string(b), strings.TrimSuffix(mw.String(), "\n")),
			})
		}
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	blocks := 0
	for _, p := range append([]string{"../../README.md"}, docs...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, blk := range yamlBlocks(string(b)) {
			name := strings.TrimPrefix(p, "../../") + ":" + blk.line
			first, _, _ := strings.Cut(blk.text, "\n")
			switch {
			case strings.Contains(first, "not a Sluice config"):
				continue
			case strings.HasPrefix(first, "# fragment"):
				merged, err := mergeFragment(exampleSkeleton, blk.text)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				examples = append(examples, example{name: name + " (fragment, merged into the skeleton)", text: merged})
			default:
				examples = append(examples, example{name: name, text: blk.text})
			}
			blocks++
		}
	}
	if blocks == 0 {
		t.Fatal("no ```yaml blocks found in README.md")
	}

	bin := buildSluice(t)
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cfg", "example.yaml")
			writeStandIn(t, path, []byte(ex.text))
			for _, m := range keyFileRE.FindAllStringSubmatch(ex.text, -1) {
				kf := m[2]
				if !filepath.IsAbs(kf) {
					kf = filepath.Join(filepath.Dir(path), kf)
				}
				writeStandIn(t, kf, standInKey(t, m[1]))
			}
			for _, m := range jsonSchemaRE.FindAllStringSubmatch(ex.text, -1) {
				schema, err := os.ReadFile(filepath.Join("../../configs", m[1]))
				if err != nil {
					schema = []byte(`{"type": "object"}`)
				}
				writeStandIn(t, filepath.Join(filepath.Dir(path), m[1]), schema)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "-check", "-config", path)
			cmd.Env = os.Environ()
			for _, m := range envNameRE.FindAllStringSubmatch(ex.text, -1) {
				cmd.Env = append(cmd.Env, m[1]+"=stand-in-token-for-sluice-check-0123456789abcdef0123456789")
			}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "configuration ok") {
				t.Errorf("sluice -check on %s: %v\n%s\n--- the config:\n%s", ex.name, err, out.String(), ex.text)
			}
		})
	}
}

func writeStandIn(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// standInKey is a key file's content: a PEM RSA public key, or an HMAC
// secret long enough for HS512.
func standInKey(t *testing.T, kind string) []byte {
	if kind == "secret" {
		return bytes.Repeat([]byte("s"), 64)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

type mdBlock struct {
	line string // the fence's line number
	text string
}

// yamlBlocks returns the ```yaml fenced blocks of a Markdown text.
func yamlBlocks(md string) []mdBlock {
	var out []mdBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		start := i
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		out = append(out, mdBlock{line: strconv.Itoa(start + 1), text: strings.Join(body, "\n") + "\n"})
	}
	return out
}

// mergeFragment adds fragment's top-level keys to skeleton's: mappings
// gain the fragment's entries, lists its items; any other value is the
// fragment's.
func mergeFragment(skeleton, fragment string) (string, error) {
	var s, f yaml.Node
	if err := yaml.Unmarshal([]byte(skeleton), &s); err != nil {
		return "", err
	}
	if err := yaml.Unmarshal([]byte(fragment), &f); err != nil {
		return "", err
	}
	sm, fm := s.Content[0], f.Content[0]
	for i := 0; i+1 < len(fm.Content); i += 2 {
		k, v := fm.Content[i], fm.Content[i+1]
		j := 0
		for ; j < len(sm.Content); j += 2 {
			if sm.Content[j].Value == k.Value {
				break
			}
		}
		switch {
		case j == len(sm.Content):
			sm.Content = append(sm.Content, k, v)
		case sm.Content[j+1].Kind == v.Kind && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode):
			sm.Content[j+1].Content = append(sm.Content[j+1].Content, v.Content...)
		default:
			sm.Content[j+1] = v
		}
	}
	b, err := yaml.Marshal(&s)
	return string(b), err
}
