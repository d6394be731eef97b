// Package config turns Sluice's YAML config file into validated Go structs
// with every default applied.
//
// Decoding is strict: an unknown key, a value of the wrong type, a duplicate
// key or a reference to a cluster or middleware that does not exist is an
// error naming the file, line and column of the offending node. Parse
// reports every problem it finds in one go (errors.Join of *Error, sorted by
// position), so an operator fixes the whole file in one pass. The gateway
// refuses to start on any error and, on reload, keeps its old config.
//
// Each key is spelled once, as its field's yaml tag: the decoder reads the
// tags (schema.go, which says how to add a key). The package imports only
// the standard library and go.yaml.in/yaml/v4; it knows nothing about the
// engine that consumes the result.
package config

import (
	"time"

	"go.yaml.in/yaml/v4"
)

// Config is one complete, validated gateway configuration. Build it with
// Load or Parse (or Default plus Validate in tests); a Config is never
// mutated after it is handed to the gateway, so it is safe to read from any
// goroutine.
type Config struct {
	// File is the path the config was loaded from, "" for in-memory configs.
	// Error messages and Pos values name it.
	File string `yaml:"-"`
	// Listen is the client listener as host:port. Default "127.0.0.1:8080";
	// an empty host (":8080") listens on every interface, port 0 picks a
	// free port (tests).
	Listen string `yaml:"listen"`
	// Admin is the admin API + /metrics listener as host:port. Default
	// "127.0.0.1:9901"; "" turns the admin listener off.
	Admin string `yaml:"admin"`
	// AdminTokenEnv (yaml `admin_token_env`) names the environment variable
	// that holds the admin API's bearer token (see AdminToken); the token
	// itself is never written in the file. When set, every admin endpoint
	// but /healthz requires `Authorization: Bearer TOKEN`. Default "": no
	// token (keep the admin listener on loopback then).
	AdminTokenEnv string `yaml:"admin_token_env"`
	// Server holds event-loop and process settings.
	Server Server `yaml:"server"`
	// Limits caps what one request may send.
	Limits Limits `yaml:"limits"`
	// Paths is the path policy applied before routing (see Paths).
	Paths Paths `yaml:"paths"`
	// Timeouts bound client-side waits.
	Timeouts Timeouts `yaml:"timeouts"`
	// Metrics (yaml `metrics`) turns the per-request metrics on (the
	// default): counts, latency histograms and bytes by route. Off, the
	// hot path skips them; connection and health metrics stay.
	Metrics bool `yaml:"metrics"`
	// AccessLog (yaml `access_log`) is the per-request log.
	AccessLog AccessLog `yaml:"access_log"`
	// RequestID (yaml `request_id`) is what happens to a client's
	// X-Request-ID: "trust" (default) keeps a well-formed one (1-64 bytes of
	// [A-Za-z0-9._:-]) and replaces anything else; "regenerate" always
	// replaces it with the gateway's own.
	RequestID string `yaml:"request_id"`
	// TrustedProxies (yaml `trusted_proxies`) are the addresses (CIDR or a
	// single IP) of proxies in front of Sluice. A request from one of them
	// is attributed to the right-most X-Forwarded-For entry that is not
	// itself trusted; that address keys per-IP rate limits, is logged and
	// is sent upstream as X-Real-IP. Only a trusted proxy's forwarding
	// headers (X-Forwarded-*, Forwarded) reach the upstream, with our hop
	// appended; anyone else's are replaced. Default none: the peer address
	// is the client, whatever it claims.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Clusters are the named upstream groups, keyed by name. Default empty.
	Clusters map[string]*Cluster `yaml:"clusters"`
	// Middleware are the named, reusable middleware instances routes refer
	// to, keyed by name. Default empty.
	Middleware map[string]*Middleware `yaml:"middleware"`
	// Routes in file order (the router orders them by specificity). Default
	// empty: every request gets a 404.
	Routes []*Route `yaml:"routes"`
	// DemoUpstreams (yaml `demo_upstreams`) are host:port addresses where the
	// binary starts its built-in demo upstream, so the quickstart works with
	// nothing else running. Default none; not for production.
	DemoUpstreams []string `yaml:"demo_upstreams"`
	// Redis (yaml `redis`) is the store behind `scope: cluster` rate
	// limits. Default nil: no Redis, every limit is per instance.
	Redis *Redis `yaml:"redis"`

	// pos maps YAML paths to where they are written, for validation errors.
	pos map[string]Pos
}

// Server holds event-loop and process settings (yaml `server:`).
type Server struct {
	// Loops (yaml `loops`) is the number of event loops; 0 (default) means
	// one per GOMAXPROCS. Must be >= 0.
	Loops int `yaml:"loops"`
	// ReusePort (yaml `reuseport`) opens one SO_REUSEPORT listener per loop so
	// the kernel spreads accepts. Default true.
	ReusePort bool `yaml:"reuseport"`
	// LockOSThread (yaml `lock_os_thread`) pins each loop to an OS thread.
	// Default false.
	LockOSThread bool `yaml:"lock_os_thread"`
	// ReadBuffer (yaml `read_buffer`) is each loop's read buffer. Default
	// 64KiB; 4KiB..16MiB.
	ReadBuffer ByteSize `yaml:"read_buffer"`
	// WriteBuffer (yaml `write_buffer`) is the socket send-buffer hint
	// (SO_SNDBUF). Default 64KiB; 0 keeps the kernel default; at most 256MiB.
	WriteBuffer ByteSize `yaml:"write_buffer"`
	// DrainTimeout (yaml `drain_timeout`) is how long a SIGTERM waits for
	// in-flight requests before closing connections. Default 30s; 0 closes
	// at once.
	DrainTimeout Duration `yaml:"drain_timeout"`
	// LogLevel (yaml `log_level`) is debug, info, warn or error. Default
	// "info".
	LogLevel string `yaml:"log_level"`
	// LogFormat (yaml `log_format`) is how operational log lines (not the
	// access log) are written to standard error: "text" (default,
	// key=value) or "json" (one object per line, for log shippers).
	LogFormat string `yaml:"log_format"`
}

// Limits caps what one request may send (yaml `limits:`).
type Limits struct {
	// MaxHeaderBytes (yaml `max_header_bytes`) caps the request line plus
	// headers; more gets a 431. Default 32KiB; 1KiB..1MiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// MaxURIBytes (yaml `max_uri_bytes`) caps the request target; more gets
	// a 414. Default 8KiB; 1..MaxHeaderBytes (the URI is part of the head).
	MaxURIBytes ByteSize `yaml:"max_uri_bytes"`
	// MaxBodyBytes (yaml `max_body_bytes`) caps a request body; more gets a
	// 413. Default 10MiB; 0 means unlimited (streamed, never buffered).
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// RequestBufferBytes (yaml `request_buffer_bytes`) is request buffering,
	// like nginx's proxy_request_buffering: a body of at most this many bytes
	// (Content-Length, or chunked framing as received) is read whole on the
	// client connection, within timeouts.client_body, before an upstream
	// connection is taken, so a slow sender holds no upstream. Larger bodies
	// stream as they arrive. Default 64KiB; 0 turns buffering off (every
	// body streams); at most 8MiB.
	RequestBufferBytes ByteSize `yaml:"request_buffer_bytes"`
	// MaxConnections (yaml `max_connections`) caps the client connections
	// open at once, all loops together; a connection past it gets a 503
	// with Retry-After: 1 and is closed. Default 0 = no cap of ours (the
	// process's file-descriptor limit still applies); at most 10,000,000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP (yaml `max_connections_per_ip`) caps the client
	// connections open at once from one peer address (the TCP peer, not
	// X-Forwarded-For); past it the same 503. Default 0 = off; at most
	// MaxConnections when that is set.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
}

// Timeouts bound client-side waits (yaml `timeouts:`). Both must be > 0.
type Timeouts struct {
	// ClientHeader (yaml `client_header`) is how long a client may take to
	// send a full request head (slowloris guard, 408). Default 10s.
	ClientHeader Duration `yaml:"client_header"`
	// ClientIdle (yaml `client_idle`) is how long a keep-alive connection may
	// sit idle between requests. Default 60s.
	ClientIdle Duration `yaml:"client_idle"`
	// ClientBody (yaml `client_body`) is how long a client may take to send
	// a request body the gateway buffers (limits.request_buffer_bytes), from
	// the end of its head to its last byte; past it a 408. Default 10s.
	ClientBody Duration `yaml:"client_body"`
}

// Cluster is a named group of interchangeable upstream targets.
type Cluster struct {
	// Name is the cluster's key in the `clusters` map.
	Name string `yaml:"-"`
	// Targets are the upstream servers; at least one.
	Targets []Target `yaml:"targets"`
	// Balancer picks a target per request: round_robin (default, weighted),
	// least_request, consistent_hash or random.
	Balancer string `yaml:"balancer"`
	// HashOn (yaml `hash_on`) is the consistent_hash key: "header:NAME",
	// "cookie:NAME" or "ip". Required with consistent_hash, refused with
	// any other balancer. Default "".
	HashOn string `yaml:"hash_on"`
	// Timeouts bound upstream waits.
	Timeouts ClusterTimeouts `yaml:"timeouts"`
	// Pool sizes the per-loop keep-alive connection pools.
	Pool Pool `yaml:"pool"`
	// Breaker is each target's circuit breaker.
	Breaker Breaker `yaml:"breaker"`
	// Health configures active health checks and passive ejection.
	Health Health `yaml:"health"`
	// Retries is the retry policy and budget.
	Retries Retries `yaml:"retries"`
	// Pos is where the cluster's name is written.
	Pos Pos `yaml:"-"`
}

// Breaker is the per-target circuit breaker of a cluster (yaml `breaker:`).
// A zero Breaker (Go-built configs) is a disabled one.
type Breaker struct {
	// Enabled (yaml `enabled`) turns the breakers on. Default true.
	Enabled bool `yaml:"enabled"`
	// ConsecutiveFailures (yaml `consecutive_failures`) opens a target's
	// breaker after this many failures in a row. Default 5; 0 turns this
	// trigger off; at most 1000.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// FailureRatio (yaml `failure_ratio`) opens it when this share of the
	// requests in Window failed. Default 0.5; 0 turns this trigger off; at
	// most 1.
	FailureRatio float64 `yaml:"failure_ratio"`
	// Window (yaml `window`) is the span FailureRatio is measured over.
	// Default 10s; 1s..1h.
	Window Duration `yaml:"window"`
	// MinRequests (yaml `min_requests`) is how many requests Window must
	// hold before FailureRatio is trusted. Default 20; 1..1000000.
	MinRequests int `yaml:"min_requests"`
	// RecoveryTimeout (yaml `recovery_timeout`) is how long an open breaker
	// refuses before it lets probes through. Default 10s; 1ms..1h.
	RecoveryTimeout Duration `yaml:"recovery_timeout"`
	// HalfOpenProbes (yaml `half_open_probes`) is how many probes may run at
	// once while half-open, and how many must succeed to close. Default 3;
	// 1..1000.
	HalfOpenProbes int `yaml:"half_open_probes"`
	// FailureStatuses (yaml `failure_statuses`) are the upstream statuses
	// that count as a failure, for the breaker and for passive health
	// (connect failures and timeouts always do). Default [502, 503, 504];
	// each 400..599; [] counts none.
	FailureStatuses []int `yaml:"failure_statuses"`
}

// Health configures how a cluster finds broken targets (yaml `health:`).
type Health struct {
	// Path (yaml `path`) turns on active checks: GET http://target/Path
	// with the target's Host header. Default "" (no active checks).
	Path string `yaml:"path"`
	// Interval (yaml `interval`) is the time between two checks of a
	// target. Default 5s; 10ms..1h.
	Interval Duration `yaml:"interval"`
	// Timeout (yaml `timeout`) bounds one check. Default 2s; > 0 and at
	// most Interval.
	Timeout Duration `yaml:"timeout"`
	// HealthyAfter (yaml `healthy_after`) passed checks in a row bring a
	// target back. Default 2; 1..100.
	HealthyAfter int `yaml:"healthy_after"`
	// UnhealthyAfter (yaml `unhealthy_after`) failed checks in a row take
	// it out. Default 3; 1..100.
	UnhealthyAfter int `yaml:"unhealthy_after"`
	// ExpectStatus (yaml `expect_status`) lists the statuses a passing
	// check may return, as a list or one number. Default [] = any 2xx or
	// 3xx; each 100..599.
	ExpectStatus []int `yaml:"expect_status"`
	// EjectAfter (yaml `eject_after`) failures of real traffic in a row
	// eject a target (passive health). Default 5; 0 turns passive ejection
	// off; at most 1000.
	EjectAfter int `yaml:"eject_after"`
	// EjectFor (yaml `eject_for`) is how long an ejected target stays out
	// when there are no active checks (with them, it needs HealthyAfter
	// passed checks). Default 30s; 1ms..1h.
	EjectFor Duration `yaml:"eject_for"`
}

// Retries is a cluster's retry policy (yaml `retries:`).
type Retries struct {
	// Attempts (yaml `attempts`) is the number of tries per request, the
	// first included: 1 = no retries. Default 2; 1..10 (0 in Go-built
	// configs means 1).
	Attempts int `yaml:"attempts"`
	// Budget (yaml `budget`) caps retries at this share of the cluster's
	// requests over the last 10s. Default 0.2; 0..1.
	Budget float64 `yaml:"budget"`
	// MinPerSecond (yaml `min_per_second`) retries per second are allowed
	// whatever the budget says, so a quiet cluster can still retry.
	// Default 3; 0..1000000.
	MinPerSecond float64 `yaml:"min_per_second"`
	// On (yaml `on`) is what may be retried: connect_failure (nothing was
	// sent), timeout, 502, 503. Default [connect_failure]. (`,text`: the
	// statuses may be written as numbers.)
	On []string `yaml:"on,text"`
}

// ClusterTimeouts bound upstream waits (yaml `timeouts:` under a cluster).
// Both must be > 0.
type ClusterTimeouts struct {
	// Connect (yaml `connect`) bounds a TCP dial to a target. Default 1s.
	Connect Duration `yaml:"connect"`
	// Response (yaml `response`) bounds the wait for a response head after
	// the request is sent (504). Default 15s.
	Response Duration `yaml:"response"`
}

// Pool sizes the keep-alive connection pools each event loop keeps per
// target (yaml `pool:` under a cluster).
type Pool struct {
	// MaxIdlePerTarget (yaml `max_idle_per_target`) caps idle connections per
	// target per loop. Default 128; 0 disables keep-alive reuse.
	MaxIdlePerTarget int `yaml:"max_idle_per_target"`
	// IdleTimeout (yaml `idle_timeout`) closes idle connections older than
	// this. Default 90s; must be > 0.
	IdleTimeout Duration `yaml:"idle_timeout"`
}

// Target is one upstream server of a cluster.
type Target struct {
	// URL (yaml `url`) is http://host:port or http://host (port 80). No
	// path, query or userinfo; https is not supported yet. A target may also
	// be written as the bare URL string.
	URL string `yaml:"url"`
	// Weight (yaml `weight`) is the target's share for weighted balancers.
	// Default 1; 1..1000.
	Weight int `yaml:"weight"`
	// Addr is the derived "host:port" to dial (filled in by validation).
	Addr string `yaml:"-"`
	// Host is the derived host[:port] as written in URL, sent upstream as
	// the Host header unless the route sets preserve_host.
	Host string `yaml:"-"`
	// Pos is where the target is written.
	Pos Pos `yaml:"-"`
}

// Route maps matching requests to a cluster through a middleware chain.
type Route struct {
	// Name is required and unique; it labels metrics and logs.
	Name string `yaml:"name"`
	// Match selects the requests this route serves.
	Match Match `yaml:"match"`
	// Cluster is the name of the cluster that serves the route; required.
	Cluster string `yaml:"cluster"`
	// StripPrefix (yaml `strip_prefix`) is removed from the path before it
	// is sent upstream. Default "" (no rewrite). It must start with '/', not
	// end with '/', and be a whole-segment prefix of the static part of
	// Match.Path, so every request the route matches has it.
	StripPrefix string `yaml:"strip_prefix"`
	// PreserveHost (yaml `preserve_host`) sends the client's Host header
	// upstream (true) instead of the target's host (false, default).
	PreserveHost bool `yaml:"preserve_host"`
	// Middleware names instances from the top-level middleware map; they run
	// in this order. Default none.
	Middleware []string `yaml:"middleware"`
	// Metrics (yaml `metrics`) overrides the top-level metrics switch for
	// this route: false keeps a noisy route (health probes) out of the
	// per-route series, true measures one route of a gateway that has them
	// off. Default nil: the top-level setting.
	Metrics *bool `yaml:"metrics"`
	// Pos is where the route is written.
	Pos Pos `yaml:"-"`
}

// MetricsOn reports whether the route keeps per-route metrics, given the
// top-level switch.
func (r *Route) MetricsOn(global bool) bool {
	if r.Metrics != nil {
		return *r.Metrics
	}
	return global
}

// Match selects requests for a route. Only Path is required.
type Match struct {
	// Path starts with '/'; its segments are static text, ":name" (one
	// segment) or, last only, "*" / "*name" (the rest of the path).
	Path string `yaml:"path"`
	// Methods limits the route to these methods, upper-cased on load.
	// Default empty: any method.
	Methods []string `yaml:"methods"`
	// MethodFallthrough (yaml `method_fallthrough`) lets a request whose
	// path this route matches, with a method it does not list, go on to a
	// less specific route. Default false: such a request gets 405 with an
	// Allow header, so a method cannot dodge the route's middleware.
	MethodFallthrough bool `yaml:"method_fallthrough"`
	// Host is an exact host name or "*.suffix", lower-cased on load, without
	// a port. Default "": any host.
	Host string `yaml:"host"`
	// Headers must all be present with exactly these values. Default none.
	Headers map[string]string `yaml:"headers"`
	// AcceptVersion (yaml `accept_version`) requires the Accept header to
	// ask for this API version: 1 to 9 decimal digits without a leading
	// zero ("2"), matched against the preferred media range naming one as
	// "application/vnd.<name>.v<N>+<suffix>" or with a "version=<N>"
	// parameter; q=0 and malformed ranges are ignored. A route at the same
	// host and path without it is tried after it: the default version.
	// Default "": no condition.
	AcceptVersion string `yaml:"accept_version"`
}

// Middleware is one named middleware instance. Its settings belong to its
// type and are checked by the decoder registered for that type.
type Middleware struct {
	// Name is the instance's key in the `middleware` map.
	Name string `yaml:"-"`
	// Type (yaml `type`) picks the kind (jwt, rate_limit, …); required and
	// must be registered with RegisterMiddlewareType.
	Type string `yaml:"type"`
	// Raw is the instance's YAML, `type` included, rendered from the parsed
	// node (aliases stay aliases, so such text does not parse alone), for
	// decoders that want the text. Prefer Decode, which keeps file
	// positions in errors. Set it in Go-built instances: Decode reads it
	// when there is no node.
	Raw []byte `yaml:"-"`
	// Pos is where the instance's name is written.
	Pos Pos `yaml:"-"`
	// Settings is whatever the type's decoder stored (typically its parsed
	// settings struct), for the pipeline to pick up. Default nil.
	Settings any `yaml:"-"`
	// Redis is the config's top-level redis block (nil when there is
	// none), set before the type's decoder runs, for types that share
	// state across instances (rate_limit with `scope: cluster`).
	Redis *Redis `yaml:"-"`

	// node is the instance's YAML mapping, nil for in-memory instances.
	node *yaml.Node
}

// Default returns a Config with every default applied and no clusters,
// middleware or routes.
func Default() *Config {
	return &Config{
		Listen: "127.0.0.1:8080",
		Admin:  "127.0.0.1:9901",
		Server: Server{
			ReusePort:    true,
			ReadBuffer:   64 * KiB,
			WriteBuffer:  64 * KiB,
			DrainTimeout: Duration(30 * time.Second),
			LogLevel:     "info",
			LogFormat:    "text",
		},
		Limits: Limits{
			MaxHeaderBytes:     32 * KiB,
			MaxURIBytes:        8 * KiB,
			MaxBodyBytes:       10 * MiB,
			RequestBufferBytes: 64 * KiB,
		},
		Timeouts: Timeouts{
			ClientHeader: Duration(10 * time.Second),
			ClientIdle:   Duration(60 * time.Second),
			ClientBody:   Duration(10 * time.Second),
		},
		Clusters:   map[string]*Cluster{},
		Middleware: map[string]*Middleware{},
		AccessLog:  AccessLog{Enabled: true, Path: "-", Format: "json", Sample: 1},
		Metrics:    true,
		RequestID:  "trust",
		Paths:      Paths{EscapedSlashes: "reject", PathParams: "reject"},
	}
}

// newCluster returns a cluster with its defaults, before its YAML is applied.
func newCluster(name string, pos Pos) *Cluster {
	return &Cluster{
		Name:     name,
		Balancer: "round_robin",
		Timeouts: ClusterTimeouts{Connect: Duration(time.Second), Response: Duration(15 * time.Second)},
		Pool:     Pool{MaxIdlePerTarget: 128, IdleTimeout: Duration(90 * time.Second)},
		Breaker: Breaker{
			Enabled:             true,
			ConsecutiveFailures: 5,
			FailureRatio:        0.5,
			Window:              Duration(10 * time.Second),
			MinRequests:         20,
			RecoveryTimeout:     Duration(10 * time.Second),
			HalfOpenProbes:      3,
			FailureStatuses:     []int{502, 503, 504},
		},
		Health: Health{
			Interval:       Duration(5 * time.Second),
			Timeout:        Duration(2 * time.Second),
			HealthyAfter:   2,
			UnhealthyAfter: 3,
			EjectAfter:     5,
			EjectFor:       Duration(30 * time.Second),
		},
		Retries: Retries{Attempts: 2, Budget: 0.2, MinPerSecond: 3, On: []string{"connect_failure"}},
		Pos:     pos,
	}
}
