package k6check

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// The module syntax the scripts may use, one statement per line (goja has no ES modules).
var (
	importDefault = regexp.MustCompile(`^import\s+(\w+)\s+from\s+'([^']+)';?\s*$`)
	importNamed   = regexp.MustCompile(`^import\s*\{([^}]*)\}\s*from\s+'([^']+)';?\s*$`)
	exportDefault = regexp.MustCompile(`^export\s+default\s+function\b`)
	exportDecl    = regexp.MustCompile(`^export\s+(?:const|let|var|function)\s+(\w+)`)
	importAs      = regexp.MustCompile(`(\w+)\s+as\s+(\w+)`)
)

// wrapStart opens the function a module becomes. "use strict": modules are strict. It shares
// line 1 with the module's first line, so line numbers stay and only line 1's columns shift.
const wrapStart = `(function (require, exports) {"use strict"; `

// toFunction rewrites an ES module into the source of a function expression
// (require, exports) => {...}: imports become require calls, exports become declarations plus
// assignments at the end. Lines keep their numbers, so errors point at the original file:line.
func toFunction(name, src string) (string, error) {
	lines := strings.Split(src, "\n")
	var exports []string
	for i, line := range lines {
		if m := importDefault.FindStringSubmatch(line); m != nil {
			lines[i] = fmt.Sprintf("const %s = require(%q).default;", m[1], m[2])
		} else if m := importNamed.FindStringSubmatch(line); m != nil {
			lines[i] = fmt.Sprintf("const {%s} = require(%q);", importAs.ReplaceAllString(m[1], "$1: $2"), m[2])
		} else if exportDefault.MatchString(line) {
			lines[i] = exportDefault.ReplaceAllString(line, "function __default")
			exports = append(exports, "exports.default = __default;")
		} else if m := exportDecl.FindStringSubmatch(line); m != nil {
			lines[i] = strings.TrimPrefix(line, "export ")
			exports = append(exports, fmt.Sprintf("exports.%s = %s;", m[1], m[1]))
		} else if t := strings.TrimSpace(line); strings.HasPrefix(t, "import ") || strings.HasPrefix(t, "export ") {
			return "", fmt.Errorf("%s:%d: module syntax the check does not convert: %s", name, i+1, t)
		}
	}
	return wrapStart + strings.Join(lines, "\n") +
		"\n" + strings.Join(exports, "\n") + "\n})", nil
}

// compile parses and compiles the output of toFunction, reporting a syntax error as
// file:line:col of the original module.
func compile(file, fn string) (*goja.Program, error) {
	prg, err := parser.ParseFile(nil, file, fn, 0)
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		pos := list[0].Position
		if pos.Line == 1 {
			pos.Column -= len(wrapStart)
		}
		return nil, fmt.Errorf("%s:%d:%d: SyntaxError: %s", file, pos.Line, pos.Column, list[0].Message)
	}
	if err != nil {
		return nil, err
	}
	return goja.CompileAST(prg, false)
}

// request is one request the recording server received.
type request struct {
	Method, Path string
	Header       http.Header
	BodyLen      int
}

// recorder is a 127.0.0.1 HTTP server that answers 200 and remembers every request.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	n, _ := io.Copy(io.Discard, req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, request{req.Method, req.URL.Path, req.Header.Clone(), int(n)})
	r.mu.Unlock()
	_, _ = io.WriteString(w, "hello world\n")
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// script is a k6 script evaluated in its own runtime with stub k6 modules. Not safe for
// concurrent use: goja runtimes are single-goroutine.
type script struct {
	t       *testing.T
	rt      *goja.Runtime
	dir     string
	exports *goja.Object
	modules map[string]goja.Value // required modules by name, evaluated once
	iter    int64                 // k6/execution scenario.iterationInTest, advanced by iterate
	failed  []string              // names of checks that did not pass
	client  *http.Client
}

// load evaluates the script file (its init context) with env as __ENV. An error is a syntax
// error (file:line:col) or an exception the init context threw (a bad env value, say).
func load(t *testing.T, file string, env map[string]string) (*script, error) {
	s := &script{t: t, rt: goja.New(), dir: filepath.Dir(file), modules: map[string]goja.Value{},
		client: &http.Client{Timeout: 10 * time.Second}}
	t.Cleanup(s.client.CloseIdleConnections)
	envObj := s.rt.NewObject()
	for k, v := range env {
		must(envObj.Set(k, v))
	}
	must(s.rt.Set("__ENV", envObj))
	must(s.rt.Set("__VU", 1))
	must(s.rt.Set("__ITER", 0))
	console := s.rt.NewObject()
	for _, f := range []string{"log", "info", "warn", "error", "debug"} {
		must(console.Set(f, func(c goja.FunctionCall) goja.Value { t.Log(c.Arguments); return goja.Undefined() }))
	}
	must(s.rt.Set("console", console))
	exports, err := s.evalFile(file)
	if err != nil {
		return nil, err
	}
	s.exports = exports
	return s, nil
}

// evalFile converts, compiles and runs one module file and returns its exports object.
func (s *script) evalFile(file string) (*goja.Object, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	fn, err := toFunction(file, string(src))
	if err != nil {
		return nil, err
	}
	prg, err := compile(file, fn)
	if err != nil {
		return nil, err
	}
	v, err := s.rt.RunProgram(prg)
	if err != nil {
		return nil, err
	}
	call, _ := goja.AssertFunction(v)
	exports := s.rt.NewObject()
	if _, err := call(goja.Undefined(), s.rt.ToValue(s.require), exports); err != nil {
		return nil, err
	}
	return exports, nil
}

// require returns the stub of a k6 built-in module or a local ./file.js; anything else (a remote
// jslib.k6.io import, say) throws, because the scripts must run offline.
func (s *script) require(name string) goja.Value {
	if m, ok := s.modules[name]; ok {
		return m
	}
	var m *goja.Object
	switch {
	case name == "k6":
		m = s.object(map[string]any{"check": s.check, "sleep": func(float64) {}})
	case name == "k6/http":
		m = s.object(map[string]any{"request": s.request,
			"get":  func(url string, params goja.Value) goja.Value { return s.request("GET", url, goja.Null(), params) },
			"post": func(url string, body, params goja.Value) goja.Value { return s.request("POST", url, body, params) },
		})
	case name == "k6/execution":
		scenario := s.rt.NewObject()
		must(scenario.DefineAccessorProperty("iterationInTest",
			s.rt.ToValue(func() int64 { return s.iter }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE))
		m = s.object(map[string]any{"scenario": scenario})
	case strings.HasPrefix(name, "./") && strings.HasSuffix(name, ".js"):
		exports, err := s.evalFile(filepath.Join(s.dir, name))
		if err != nil {
			panic(s.rt.NewGoError(err))
		}
		m = exports
	default:
		panic(s.rt.NewTypeError("import %q: not a k6 built-in module or a local ./file.js", name))
	}
	if m.Get("default") == nil {
		must(m.Set("default", m)) // import http from 'k6/http' reads the default export
	}
	s.modules[name] = m
	return m
}

func (s *script) object(props map[string]any) *goja.Object {
	o := s.rt.NewObject()
	for k, v := range props {
		must(o.Set(k, v))
	}
	return o
}

// check runs every named predicate on val like k6's check and remembers the failures.
func (s *script) check(val goja.Value, sets *goja.Object) bool {
	ok := true
	for _, name := range sets.Keys() {
		fn, isFn := goja.AssertFunction(sets.Get(name))
		if !isFn {
			panic(s.rt.NewTypeError("check %q is not a function", name))
		}
		res, err := fn(goja.Undefined(), val)
		if err != nil {
			panic(err)
		}
		if !res.ToBoolean() {
			ok = false
			s.failed = append(s.failed, name)
		}
	}
	return ok
}

// request is http.request(method, url, body, params) made for real with net/http. Only string
// (or null) bodies and params.headers/params.tags are supported: what the scripts use.
func (s *script) request(method, url string, body, params goja.Value) goja.Value {
	var rd io.Reader
	if !nullish(body) {
		str, ok := body.Export().(string)
		if !ok {
			panic(s.rt.NewTypeError("http stub: body must be a string, got %T", body.Export()))
		}
		rd = strings.NewReader(str)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		panic(s.rt.NewGoError(err))
	}
	if p, ok := export(params).(map[string]any); ok {
		for key := range p {
			if key != "headers" && key != "tags" {
				panic(s.rt.NewTypeError("http stub: unsupported params.%s", key))
			}
		}
		headers, _ := p["headers"].(map[string]any)
		for k, v := range headers {
			req.Header.Set(k, fmt.Sprint(v))
		}
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return s.rt.ToValue(map[string]any{"status": 0, "error": err.Error(), "body": nil})
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return s.rt.ToValue(map[string]any{"status": resp.StatusCode, "error": "", "body": string(b),
		"timings": map[string]any{"duration": float64(time.Since(start).Microseconds()) / 1000}})
}

// iterate calls the script's default function n times, as n iterations of the scenario.
func (s *script) iterate(n int) error {
	fn, ok := goja.AssertFunction(s.exports.Get("default"))
	if !ok {
		return fmt.Errorf("no default function exported")
	}
	for i := 0; i < n; i++ {
		must(s.rt.Set("__ITER", i))
		if _, err := fn(goja.Undefined()); err != nil {
			return err
		}
		s.iter++
	}
	return nil
}

// nullish reports a missing argument, null or undefined.
func nullish(v goja.Value) bool { return v == nil || goja.IsNull(v) || goja.IsUndefined(v) }

func export(v goja.Value) any {
	if nullish(v) {
		return nil
	}
	return v.Export()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
