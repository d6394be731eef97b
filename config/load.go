package config

import (
	"fmt"
	"os"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads the YAML file at path and parses it with Parse. A read failure
// is returned as is (it does not wrap ErrInvalid); every problem in the
// file's content is an *Error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data strictly, applies defaults and validates the result.
// file names the source in positions and messages ("" for in-memory text).
// On failure the Config is nil and the error is an errors.Join of every
// *Error found, sorted by position; use Errors to get them back.
func Parse(file string, data []byte) (*Config, error) {
	d := &decoder{file: file, anchors: map[string]ast.Node{}, pos: map[string]Pos{}}
	// Duplicate keys are detected by the decoder instead of the parser so
	// they are reported together with every other problem.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.errs.add(d.yamlError(err, ""))
		return nil, d.errs.join()
	}
	cfg := Default()
	cfg.File = file
	cfg.pos = d.pos
	var body ast.Node
	for i, doc := range f.Docs {
		if i > 0 && doc.Body != nil {
			d.fail(doc.Body, "", "a config file holds one YAML document; found another one here")
			break
		}
		if i == 0 {
			body = doc.Body
		}
	}
	d.collectAnchors(body)
	d.top(cfg, body)
	check(cfg, &d.errs)
	if err := d.errs.join(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decoder walks the YAML AST itself instead of using reflection: that is
// what lets it report every unknown key and wrong type (not just the first),
// keep an exact position for each value, and tell "missing" from "zero".
type decoder struct {
	file    string
	anchors map[string]ast.Node
	pos     map[string]Pos // YAML path -> where its value is written
	errs    errList
	// mergeDepth bounds merge-key expansion, which a self-referencing
	// anchor would otherwise turn into endless recursion.
	mergeDepth int
}

func (d *decoder) top(c *Config, n ast.Node) {
	if r, _ := d.resolve(n, ""); !isNull(r) {
		if _, isMap := r.(*ast.MappingNode); !isMap {
			d.fail(r, "", "a config file is a mapping of top-level keys (listen, clusters, routes, …), got %s", kind(r))
			return
		}
	}
	d.fields(n, "", fieldSet{
		"listen":          func(e entry) { d.str(e, &c.Listen) },
		"admin":           func(e entry) { d.str(e, &c.Admin) },
		"admin_token_env": func(e entry) { d.str(e, &c.AdminTokenEnv) },
		"server":          func(e entry) { d.server(e, &c.Server) },
		"limits":          func(e entry) { d.limits(e, &c.Limits) },
		"timeouts":        func(e entry) { d.timeouts(e, &c.Timeouts) },
		"clusters":        func(e entry) { d.clusters(e, c.Clusters) },
		"middleware":      func(e entry) { d.middleware(e, c.Middleware) },
		"routes":          func(e entry) { d.routes(e, c) },
		"demo_upstreams":  func(e entry) { c.DemoUpstreams = d.strList(e) },
		"trusted_proxies": func(e entry) { c.TrustedProxies = d.strList(e) },
		"access_log":      func(e entry) { d.accessLog(e, &c.AccessLog) },
		"metrics":         func(e entry) { d.bool(e, &c.Metrics) },
		"request_id":      func(e entry) { d.str(e, &c.RequestID) },
		"paths":           func(e entry) { d.paths(e, &c.Paths) },
	})
}

func (d *decoder) server(e entry, s *Server) {
	d.fields(e.val, e.path, fieldSet{
		"loops":          func(e entry) { d.int(e, &s.Loops) },
		"reuseport":      func(e entry) { d.bool(e, &s.ReusePort) },
		"lock_os_thread": func(e entry) { d.bool(e, &s.LockOSThread) },
		"read_buffer":    func(e entry) { d.size(e, &s.ReadBuffer) },
		"write_buffer":   func(e entry) { d.size(e, &s.WriteBuffer) },
		"drain_timeout":  func(e entry) { d.duration(e, &s.DrainTimeout) },
		"log_level":      func(e entry) { d.str(e, &s.LogLevel) },
		"log_format":     func(e entry) { d.str(e, &s.LogFormat) },
	})
}

func (d *decoder) limits(e entry, l *Limits) {
	d.fields(e.val, e.path, fieldSet{
		"max_header_bytes":       func(e entry) { d.size(e, &l.MaxHeaderBytes) },
		"max_uri_bytes":          func(e entry) { d.size(e, &l.MaxURIBytes) },
		"max_body_bytes":         func(e entry) { d.size(e, &l.MaxBodyBytes) },
		"request_buffer_bytes":   func(e entry) { d.size(e, &l.RequestBufferBytes) },
		"max_connections":        func(e entry) { d.int(e, &l.MaxConnections) },
		"max_connections_per_ip": func(e entry) { d.int(e, &l.MaxConnectionsPerIP) },
	})
}

func (d *decoder) timeouts(e entry, t *Timeouts) {
	d.fields(e.val, e.path, fieldSet{
		"client_header": func(e entry) { d.duration(e, &t.ClientHeader) },
		"client_idle":   func(e entry) { d.duration(e, &t.ClientIdle) },
		"client_body":   func(e entry) { d.duration(e, &t.ClientBody) },
	})
}

func (d *decoder) clusters(e entry, out map[string]*Cluster) {
	es, _ := d.mapping(e.val, e.path)
	for _, e := range es {
		c := newCluster(e.key, d.posOf(e.keyN))
		d.pos[e.path] = c.Pos // errors about the cluster as a whole point at its name
		d.fields(e.val, e.path, fieldSet{
			"targets":  func(e entry) { c.Targets = d.targets(e) },
			"balancer": func(e entry) { d.str(e, &c.Balancer) },
			"hash_on":  func(e entry) { d.str(e, &c.HashOn) },
			"breaker":  func(e entry) { d.breaker(e, &c.Breaker) },
			"health":   func(e entry) { d.health(e, &c.Health) },
			"retries":  func(e entry) { d.retries(e, &c.Retries) },
			"timeouts": func(e entry) {
				d.fields(e.val, e.path, fieldSet{
					"connect":  func(e entry) { d.duration(e, &c.Timeouts.Connect) },
					"response": func(e entry) { d.duration(e, &c.Timeouts.Response) },
				})
			},
			"pool": func(e entry) {
				d.fields(e.val, e.path, fieldSet{
					"max_idle_per_target": func(e entry) { d.int(e, &c.Pool.MaxIdlePerTarget) },
					"idle_timeout":        func(e entry) { d.duration(e, &c.Pool.IdleTimeout) },
				})
			},
		})
		out[e.key] = c
	}
}

func (d *decoder) targets(e entry) []Target {
	var ts []Target
	for _, it := range d.items(e) {
		t := Target{Weight: 1, Pos: d.posOf(it.val)}
		if _, isStr := it.val.(*ast.StringNode); isStr {
			d.str(it, &t.URL) // shorthand: "- http://host:port"
		} else {
			d.fields(it.val, it.path, fieldSet{
				"url":    func(e entry) { d.str(e, &t.URL) },
				"weight": func(e entry) { d.int(e, &t.Weight) },
			})
		}
		ts = append(ts, t)
	}
	return ts
}

func (d *decoder) middleware(e entry, out map[string]*Middleware) {
	es, _ := d.mapping(e.val, e.path)
	for _, e := range es {
		m := &Middleware{Name: e.key, Pos: d.posOf(e.keyN), node: e.val}
		d.pos[e.path] = m.Pos
		// Only `type` is ours; every other key belongs to the type's decoder.
		kv, ok := d.mapping(e.val, e.path)
		if !ok {
			continue
		}
		for _, kv := range kv {
			if kv.key == "type" {
				d.str(kv, &m.Type)
			}
		}
		if e.val != nil {
			m.Raw = []byte(e.val.String())
		}
		out[e.key] = m
	}
}

func (d *decoder) routes(e entry, c *Config) {
	for _, it := range d.items(e) {
		r := &Route{Pos: d.posOf(it.val)}
		d.fields(it.val, it.path, fieldSet{
			"name":          func(e entry) { d.str(e, &r.Name) },
			"match":         func(e entry) { d.match(e, &r.Match) },
			"cluster":       func(e entry) { d.str(e, &r.Cluster) },
			"strip_prefix":  func(e entry) { d.str(e, &r.StripPrefix) },
			"preserve_host": func(e entry) { d.bool(e, &r.PreserveHost) },
			"middleware":    func(e entry) { r.Middleware = d.strList(e) },
			"metrics": func(e entry) {
				var on bool
				d.bool(e, &on)
				r.Metrics = &on
			},
		})
		c.Routes = append(c.Routes, r)
	}
}

func (d *decoder) match(e entry, m *Match) {
	d.fields(e.val, e.path, fieldSet{
		"path":               func(e entry) { d.str(e, &m.Path) },
		"methods":            func(e entry) { m.Methods = d.strList(e) },
		"method_fallthrough": func(e entry) { d.bool(e, &m.MethodFallthrough) },
		"host":               func(e entry) { d.str(e, &m.Host) },
		"headers": func(e entry) {
			es, _ := d.mapping(e.val, e.path)
			for _, e := range es {
				var v string
				if d.str(e, &v) {
					if m.Headers == nil {
						m.Headers = map[string]string{}
					}
					m.Headers[e.key] = v
				}
			}
		},
	})
}
