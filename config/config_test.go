package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest useful config; error cases below build on it.
const minimal = `clusters:
  users:
    targets:
      - url: http://127.0.0.1:9001
routes:
  - name: users
    match: {path: /api/users/:id}
    cluster: users
`

func TestParseMinimalAppliesDefaults(t *testing.T) {
	c, err := Parse("min.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	// Top-level defaults are exactly Default()'s.
	if c.Listen != want.Listen || c.Admin != want.Admin || c.Server != want.Server ||
		c.Limits != want.Limits || c.Timeouts != want.Timeouts || c.DemoUpstreams != nil {
		t.Errorf("top-level defaults not applied: %+v", c)
	}
	if c.File != "min.yaml" {
		t.Errorf("File = %q", c.File)
	}
	cl := c.Clusters["users"]
	if cl == nil {
		t.Fatal("cluster users missing")
	}
	wantCl := &Cluster{
		Name:     "users",
		Balancer: "round_robin",
		Timeouts: ClusterTimeouts{Connect: Duration(time.Second), Response: Duration(15 * time.Second)},
		Pool:     Pool{MaxIdlePerTarget: 128, IdleTimeout: Duration(90 * time.Second)},
		Breaker: Breaker{Enabled: true, ConsecutiveFailures: 5, FailureRatio: 0.5, Window: Duration(10 * time.Second), MinRequests: 20,
			RecoveryTimeout: Duration(10 * time.Second), HalfOpenProbes: 3, FailureStatuses: []int{502, 503, 504}},
		Health: Health{Interval: Duration(5 * time.Second), Timeout: Duration(2 * time.Second), HealthyAfter: 2, UnhealthyAfter: 3,
			EjectAfter: 5, EjectFor: Duration(30 * time.Second)},
		Retries: Retries{Attempts: 2, Budget: 0.2, MinPerSecond: 3, On: []string{"connect_failure"}},
		Targets: []Target{{
			URL: "http://127.0.0.1:9001", Weight: 1, Addr: "127.0.0.1:9001", Host: "127.0.0.1:9001",
			Pos: Pos{"min.yaml", 4, 9},
		}},
		Pos: Pos{"min.yaml", 2, 3},
	}
	if !reflect.DeepEqual(cl, wantCl) {
		t.Errorf("cluster:\n got %+v\nwant %+v", cl, wantCl)
	}
	wantRoute := &Route{Name: "users", Match: Match{Path: "/api/users/:id"}, Cluster: "users", Pos: Pos{"min.yaml", 6, 5}}
	if len(c.Routes) != 1 || !reflect.DeepEqual(c.Routes[0], wantRoute) {
		t.Errorf("routes: got %+v", c.Routes)
	}
}

func TestParseValues(t *testing.T) {
	src := `listen: ":8080"
admin: ""
demo_upstreams: [127.0.0.1:9001]
server: {loops: 4, reuseport: false, lock_os_thread: true, read_buffer: 128KiB, write_buffer: 0, drain_timeout: 0s, log_level: debug, log_format: json}
limits: {max_header_bytes: 16KiB, max_uri_bytes: 4096, max_body_bytes: 0}
timeouts: {client_header: 5s, client_idle: 2m}
clusters:
  api:
    targets: [http://localhost, {url: "http://[::1]:81", weight: 3}]
    balancer: least_request
    timeouts: {connect: 250ms, response: 1m}
    pool: {max_idle_per_target: 0, idle_timeout: 5s}
routes:
  - name: r
    match:
      path: /v1/*
      methods: [get, Post]
      host: "*.Example.COM"
      headers: {X-API-Version: "2"}
    cluster: api
    strip_prefix: /v1
    preserve_host: true
`
	c, err := Parse("v.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	wantServer := Server{Loops: 4, ReusePort: false, LockOSThread: true, ReadBuffer: 128 * KiB, DrainTimeout: 0, LogLevel: "debug", LogFormat: "json"}
	if c.Server != wantServer {
		t.Errorf("server = %+v", c.Server)
	}
	if c.Listen != ":8080" || c.Admin != "" || !reflect.DeepEqual(c.DemoUpstreams, []string{"127.0.0.1:9001"}) {
		t.Errorf("listen/admin/demo = %q %q %q", c.Listen, c.Admin, c.DemoUpstreams)
	}
	if c.Limits != (Limits{MaxHeaderBytes: 16 * KiB, MaxURIBytes: 4096, RequestBufferBytes: 64 * KiB}) || c.Timeouts != (Timeouts{ClientHeader: Duration(5 * time.Second), ClientIdle: Duration(2 * time.Minute), ClientBody: Duration(10 * time.Second)}) {
		t.Errorf("limits/timeouts = %+v %+v", c.Limits, c.Timeouts)
	}
	api := c.Clusters["api"]
	if got := []string{api.Targets[0].Addr, api.Targets[0].Host, api.Targets[1].Addr, api.Targets[1].Host}; !reflect.DeepEqual(got, []string{"localhost:80", "localhost", "[::1]:81", "[::1]:81"}) {
		t.Errorf("derived target fields = %q", got)
	}
	if api.Targets[1].Weight != 3 || api.Balancer != "least_request" || api.Pool.MaxIdlePerTarget != 0 || api.Timeouts.Connect.D() != 250*time.Millisecond {
		t.Errorf("cluster = %+v", api)
	}
	r := c.Routes[0]
	wantMatch := Match{Path: "/v1/*", Methods: []string{"GET", "POST"}, Host: "*.example.com", Headers: map[string]string{"X-API-Version": "2"}}
	if !reflect.DeepEqual(r.Match, wantMatch) || r.StripPrefix != "/v1" || !r.PreserveHost {
		t.Errorf("route = %+v", r)
	}
}

// TestParseErrors pins each kind of error to its exact position and message.
// Each want entry is "line:col path: message fragment"; the case fails if any
// error is missing or any extra error is reported.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{
			// A misspelled top-level key is reported at the key, with a hint.
			name: "unknown top-level key",
			src:  "lisen: 127.0.0.1:8080\n",
			want: []string{`1:1 lisen: unknown key "lisen" (did you mean "listen"?)`},
		},
		{
			// Unknown keys are caught at any depth, including flow mappings.
			name: "unknown nested key",
			src:  "server:\n  loops: 2\n  reuse_port: false\nlimits: {max_body: 1MiB}\n",
			want: []string{
				`3:3 server.reuse_port: unknown key "reuse_port" (did you mean "reuseport"?)`,
				`4:10 limits.max_body: unknown key "max_body"`,
			},
		},
		{
			// Values are never coerced between types: "yes" is a string
			// in YAML 1.2, a quoted number is a string, a list is not a mapping.
			name: "wrong types",
			src:  "server:\n  loops: \"4\"\n  reuseport: yes\nlisten: 8080\ntimeouts: [10s]\n",
			want: []string{
				`2:10 server.loops: expected an integer, got a string "4"`,
				`3:14 server.reuseport: expected true or false, got a string "yes"`,
				`4:9 listen: expected a string, got an integer 8080 (quote it: "8080")`,
				`5:11 timeouts: expected a mapping, got a list`,
			},
		},
		{
			// Bare numbers have no unit; anything else must parse as a Go duration.
			name: "bad durations",
			src:  "timeouts:\n  client_header: 10\n  client_idle: 1 minute\nserver: {drain_timeout: -5s}\n",
			want: []string{
				`2:18 timeouts.client_header: duration "10" has no unit`,
				`3:16 timeouts.client_idle: invalid duration "1 minute"`,
				`4:25 server.drain_timeout: negative duration "-5s"`,
			},
		},
		{
			// Unit spelling is exact, negative sizes are refused, and
			// ranges are checked after parsing.
			name: "bad sizes",
			src:  "limits:\n  max_header_bytes: 64kb\n  max_body_bytes: -1\nserver: {read_buffer: 1KiB}\n",
			want: []string{
				`2:21 limits.max_header_bytes: invalid size unit "kb"`,
				`3:19 limits.max_body_bytes: negative size "-1"`,
				`4:23 server.read_buffer: must be between 4KiB and 16MiB, got 1KiB`,
			},
		},
		{
			// A typo in a route's cluster is a dangling reference.
			name: "unknown cluster ref",
			src:  strings.Replace(minimal, "    cluster: users", "    cluster: userz", 1),
			want: []string{`8:14 routes[0].cluster: unknown cluster "userz" (did you mean "users"?) (defined: users)`},
		},
		{
			// Route middleware must name instances from the middleware map.
			name: "unknown middleware ref",
			src:  minimal + "    middleware: [auth]\n",
			want: []string{`9:18 routes[0].middleware[0]: unknown middleware "auth" (defined: none)`},
		},
		{
			// With no middleware type registered, every instance is refused
			// honestly rather than silently ignored.
			name: "unknown middleware type",
			src:  minimal + "middleware:\n  auth: {type: jwt, issuer: x}\n",
			want: []string{`10:16 middleware.auth.type: unknown middleware type "jwt" (available: none yet)`},
		},
		{
			// The second use of a name is the error; it points back at the first.
			name: "duplicate route name",
			src:  minimal + "  - name: users\n    match: {path: /}\n    cluster: users\n",
			want: []string{`9:11 routes[1].name: duplicate route name "users" (first used by routes[0], line 6)`},
		},
		{
			// Duplicate keys are errors, not "last one wins".
			name: "duplicate key",
			src:  minimal + "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n",
			want: []string{`10:1 listen: duplicate key "listen" (first at line 9)`},
		},
		{
			// Path syntax: must start with '/', wildcard only last, params named.
			name: "bad paths",
			src: minimal + `  - {name: a, cluster: users, match: {path: api/x}}
  - {name: b, cluster: users, match: {path: "/x/*rest/y"}}
  - {name: c, cluster: users, match: {path: "/x/:"}}
  - {name: d, cluster: users, match: {path: "/x//y"}}
`,
			want: []string{
				`9:45 routes[1].match.path: path "api/x" must start with '/'`,
				`10:45 routes[2].match.path: wildcard "*rest" must be the last segment`,
				`11:45 routes[3].match.path: parameter ":" needs a name`,
				`12:45 routes[4].match.path: path "/x//y" has an empty segment`,
			},
		},
		{
			// A route that matches exactly what an earlier one matches
			// (parameter names aside) would be dead; different methods are fine.
			name: "shadowed route",
			src: minimal + `  - {name: dup, cluster: users, match: {path: "/api/users/:name", methods: [GET]}}
  - {name: post, cluster: users, match: {path: /x, methods: [POST]}}
  - {name: get, cluster: users, match: {path: /x, methods: [GET]}}
`,
			want: []string{`9:40 routes[1].match: matches the same requests as routes[0] "users", line 6`},
		},
		{
			// accept_version is canonical decimal digits; a bare number is
			// not coerced; versions at one path differ, or the route is dead;
			// an unversioned route beside versioned ones is the default, not
			// a duplicate.
			name: "accept_version",
			src: minimal + `  - {name: v2, cluster: users, match: {path: /v, accept_version: "2"}}
  - {name: v2b, cluster: users, match: {path: /v, accept_version: "2"}}
  - {name: dflt, cluster: users, match: {path: /v}}
  - {name: bad, cluster: users, match: {path: /b, accept_version: "v2"}}
  - {name: zero, cluster: users, match: {path: /z, accept_version: "02"}}
  - {name: num, cluster: users, match: {path: /n, accept_version: 3}}
`,
			want: []string{
				`10:40 routes[2].match: matches the same requests as routes[1] "v2", line 9`,
				`12:67 routes[4].match.accept_version: accept_version "v2" must be 1 to 9 decimal digits`,
				`13:68 routes[5].match.accept_version: accept_version "02" must be 1 to 9 decimal digits`,
				`14:67 routes[6].match.accept_version: expected a string, got an integer 3`,
			},
		},
		{
			// Methods must be HTTP tokens and listed once (after upper-casing).
			name: "bad methods",
			src:  minimal + "  - {name: m, cluster: users, match: {path: /m, methods: [GET, \"GE T\", get]}}\n",
			want: []string{
				`9:64 routes[1].match.methods[1]: invalid method "GE T"`,
				`9:72 routes[1].match.methods[2]: method GET is already listed at methods[0]`,
			},
		},
		{
			// Target URLs: scheme, no path, valid port.
			name: "bad target URLs",
			src: `clusters:
  c:
    targets:
      - url: 127.0.0.1:9001
      - url: http://127.0.0.1:9002/api
      - url: http://127.0.0.1:70000
      - url: ftp://127.0.0.1
`,
			want: []string{
				`4:14 clusters.c.targets[0].url: URL "127.0.0.1:9001" has no scheme; write http://127.0.0.1:9001`,
				`5:14 clusters.c.targets[1].url: must not have a path`,
				`6:14 clusters.c.targets[2].url: invalid port "70000"`,
				`7:14 clusters.c.targets[3].url: unsupported scheme "ftp"`,
			},
		},
		{
			// TLS to upstreams is not implemented: say so instead of failing later.
			name: "https target",
			src:  "clusters:\n  c:\n    targets: [https://api.example.com]\n",
			want: []string{`3:15 clusters.c.targets[0].url: https targets are not supported yet`},
		},
		{
			// A cluster with no targets could never serve anything; a missing
			// key is reported at the cluster's name.
			name: "empty targets",
			src:  "clusters:\n  a:\n    targets: []\n  b: {balancer: random}\n",
			want: []string{
				`3:14 clusters.a.targets: a cluster needs at least one target`,
				`4:3 clusters.b.targets: a cluster needs at least one target`,
			},
		},
		{
			// strip_prefix must cover whole segments of the static path part.
			name: "strip_prefix mismatch",
			src: minimal + `  - {name: s1, cluster: users, match: {path: /api/echo/*}, strip_prefix: /v1}
  - {name: s2, cluster: users, match: {path: /api/echo/x/*}, strip_prefix: /api/ec}
  - {name: s3, cluster: users, match: {path: /api/:v/x}, strip_prefix: /api/v1}
  - {name: s4, cluster: users, match: {path: /api/*}, strip_prefix: /api/}
`,
			want: []string{
				`9:74 routes[1].strip_prefix: "/v1" is not a whole-segment prefix of "/api/echo/"`,
				`10:76 routes[2].strip_prefix: "/api/ec" is not a whole-segment prefix`,
				`11:72 routes[3].strip_prefix: "/api/v1" is not a whole-segment prefix of "/api/"`,
				`12:69 routes[4].strip_prefix: "/api/" must not end with '/'`,
			},
		},
		{
			// A missing required key is reported at the mapping that lacks it.
			name: "missing required route fields",
			src:  "routes:\n  - match: {}\n",
			want: []string{
				`2:5 routes[0].cluster: required`, // same position: ordered by path
				`2:5 routes[0].name: required`,
				`2:12 routes[0].match.path: required`,
			},
		},
		{
			// Listener addresses are host:port with a valid port.
			name: "bad listen addresses",
			src:  "listen: localhost\nadmin: 127.0.0.1:99999\ndemo_upstreams: [\"127.0.0.1:0\"]\n",
			want: []string{
				`1:9 listen: "localhost" is not host:port`,
				`2:8 admin: invalid port "99999"`,
				`3:18 demo_upstreams[0]: invalid port "0"`,
			},
		},
		{
			name: "unknown log format",
			src:  "server:\n  log_format: yaml\n",
			want: []string{`2:15 server.log_format: unknown log format "yaml" (use text or json)`},
		},
		{
			// Everything wrong in one file is reported in one pass, in file
			// order, and a type error does not also produce a "required" error.
			name: "several errors at once",
			src: `listen: 127.0.0.1:8080
server:
  log_level: loud
clusters:
  users:
    targets: [{url: http://127.0.0.1:9001, weight: 0}]
    balancer: fastest
routes:
  - name: users
    match: {path: /api/*, methods: [GET]}
    cluster: 7
  - name: users
    match: {path: /x}
    cluster: nope
    colour: blue
`,
			want: []string{
				`3:14 server.log_level: unknown log level "loud"`,
				`6:52 clusters.users.targets[0].weight: must be between 1 and 1000, got 0`,
				`7:15 clusters.users.balancer: unknown balancer "fastest"`,
				`11:14 routes[0].cluster: expected a string, got an integer 7`,
				`12:11 routes[1].name: duplicate route name "users"`,
				`14:14 routes[1].cluster: unknown cluster "nope"`,
				`15:5 routes[1].colour: unknown key "colour"`,
			},
		},
		{
			// YAML syntax errors carry the parser's position: for an
			// unclosed construct, where it starts.
			name: "syntax error",
			src:  "listen: [127.0.0.1:8080\n",
			want: []string{`1:9 : did not find expected ',' or ']' (while parsing a flow sequence that starts here; found at 2:1)`},
		},
		{
			// The document must be a mapping.
			name: "not a mapping",
			src:  "- listen\n",
			want: []string{`1:1 : a config file is a mapping of top-level keys`},
		},
		{
			// One document per file: a second one would be silently ignored.
			name: "two documents",
			src:  "listen: 127.0.0.1:8080\n---\nadmin: \"\"\n",
			want: []string{`3:1 : a config file holds one YAML document`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Error("config returned along with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			got := Errors(err)
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(got), len(tc.want), err)
			}
			for i, w := range tc.want {
				if i >= len(got) {
					break
				}
				g := got[i]
				at, rest, _ := strings.Cut(w, " ")
				path, frag, _ := strings.Cut(rest, ": ")
				if gotAt := fmt.Sprintf("%d:%d", g.Pos.Line, g.Pos.Col); gotAt != at || g.Path != path || !strings.Contains(g.Msg, frag) || g.Pos.File != "t.yaml" {
					t.Errorf("error %d:\n got %v\nwant t.yaml:%s: %s: …%s…", i, g, at, path, frag)
				}
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("configs/x.yaml", []byte(strings.Replace(minimal, "cluster: users", "cluster: userz", 1)))
	want := `configs/x.yaml:8:14: routes[0].cluster: unknown cluster "userz" (did you mean "users"?) (defined: users)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	// Several errors: one per line, sorted by position.
	_, err = Parse("x.yaml", []byte("server: {loops: -1}\nlisten: nope\n"))
	want = "x.yaml:1:17: server.loops: must be >= 0 (0 = one loop per GOMAXPROCS), got -1\n" +
		`x.yaml:2:9: listen: "nope" is not host:port (e.g. 127.0.0.1:8080)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	// Without a position (configs built in Go) only the path is shown.
	if got := (&Error{Path: "listen", Msg: "bad"}).Error(); got != "listen: bad" {
		t.Errorf("got %q", got)
	}
}

// TestAnchorsAndMerge: YAML anchors, aliases and merge keys work, and errors
// inside an anchored block point at the block.
func TestAnchorsAndMerge(t *testing.T) {
	src := `clusters:
  a: &base
    targets: [http://127.0.0.1:9001]
    balancer: random
  b:
    <<: *base
    balancer: least_request
  c: *base
routes:
  - {name: r, match: {path: /}, cluster: c}
`
	c, err := Parse("a.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Clusters["b"].Balancer != "least_request" || c.Clusters["b"].Targets[0].Addr != "127.0.0.1:9001" || c.Clusters["c"].Balancer != "random" {
		t.Errorf("merge/alias not applied: %+v %+v", c.Clusters["b"], c.Clusters["c"])
	}
	// A merge key that includes its own anchor is an error, not a hang, and
	// does not break later merges. An anchored node starts at its anchor.
	_, err = Parse("a.yaml", []byte("server: &x {<<: *x}\nlimits: &y {max_body_bytes: 1KiB}\ntimeouts: {<<: *y}\n"))
	want := "a.yaml:1:9: server: merge keys (<<) nested too deeply (a cycle?)\n" +
		`a.yaml:2:13: timeouts.max_body_bytes: unknown key "max_body_bytes" (known keys: client_body, client_header, client_idle)`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	_, err = Parse("a.yaml", []byte("routes:\n  - *nope\n"))
	if es := Errors(err); len(es) != 1 || es[0].Pos.Line != 2 || !strings.Contains(es[0].Msg, "alias *nope names no anchor") {
		t.Errorf("got %v", err)
	}
}

func TestValidateInMemory(t *testing.T) {
	c := Default()
	c.Clusters["api"] = &Cluster{
		Targets: []Target{{URL: "http://10.0.0.1:8080", Weight: 1}}, Balancer: "random",
		Timeouts: ClusterTimeouts{Connect: Duration(time.Second), Response: Duration(time.Second)},
		Pool:     Pool{IdleTimeout: Duration(time.Second)},
	}
	c.Routes = []*Route{{Name: "r", Match: Match{Path: "/x", Methods: []string{"delete"}}, Cluster: "api"}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Validate completes the config like Parse does.
	if c.Clusters["api"].Name != "api" || c.Clusters["api"].Targets[0].Addr != "10.0.0.1:8080" || c.Routes[0].Match.Methods[0] != "DELETE" {
		t.Errorf("not completed: %+v %+v", c.Clusters["api"], c.Routes[0])
	}
	c.Routes[0].Cluster = "gone"
	err := c.Validate()
	if err == nil || err.Error() != `routes[0].cluster: unknown cluster "gone" (defined: api)` {
		t.Errorf("got %v", err)
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	// An empty file is the default config (every request gets a 404).
	c, err := Parse("", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.pos = nil
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("empty file: %+v", c)
	}
}

// TestReferenceShowsDefaults: every default written in reference.yaml is
// the real default, so the operator's reference cannot drift from the code.
func TestReferenceShowsDefaults(t *testing.T) {
	c, err := Load("../configs/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Listen != d.Listen || c.Admin != d.Admin || c.Server != d.Server || c.Limits != d.Limits || c.Timeouts != d.Timeouts ||
		c.AccessLog != d.AccessLog || c.Metrics != d.Metrics || c.RequestID != d.RequestID || len(c.TrustedProxies) != 0 {
		t.Errorf("reference.yaml top-level values differ from Default():\n%+v\n%+v", c, d)
	}
	cl, def := c.Clusters["users"], newCluster("users", Pos{})
	if cl.Balancer != def.Balancer || cl.Timeouts != def.Timeouts || cl.Pool != def.Pool {
		t.Errorf("reference.yaml cluster values differ from defaults: %+v", cl)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("got %v", err)
	}
}

func TestDocumentMarkers(t *testing.T) {
	// A leading "---" and a trailing "..." are ordinary YAML, not a second document.
	c, err := Parse("d.yaml", []byte("---\n"+minimal+"...\n"))
	if err != nil || len(c.Routes) != 1 {
		t.Fatalf("got %v", err)
	}
}

// TestParseConcurrent: reloads may parse while another goroutine registers
// or reads; Parse shares no mutable state (run with -race).
func TestParseConcurrent(t *testing.T) {
	// The shipped examples use middleware types, which register from
	// packages config cannot import; minimal has none.
	data := []byte(minimal)
	done := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := Parse("q.yaml", data)
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
