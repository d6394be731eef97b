package config

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate checks a Config the way Parse does, for configs built or edited
// in Go. It also completes them as Parse does: Target.Addr and Target.Host
// are derived, methods upper-cased, hosts lower-cased, names filled in from
// map keys, and each middleware instance run through its type's decoder.
// Errors carry positions only for parsed configs.
func (c *Config) Validate() error {
	var l errList
	check(c, &l)
	return l.join()
}

// checker holds one validation run; errors go to l with the position of
// the nearest written node.
type checker struct {
	c *Config
	l *errList
}

func (k *checker) errf(path, format string, args ...any) {
	if k.l.isBad(path) {
		return // the decoder already reported this value
	}
	k.l.add(errorf(k.at(path), path, format, args...))
}

// at returns where path is written, or its nearest written ancestor: a
// missing key is reported at the mapping that lacks it.
func (k *checker) at(path string) Pos {
	for p := path; ; p = parentPath(p) {
		if pos, ok := k.c.pos[p]; ok {
			return pos
		}
		if p == "" {
			return Pos{File: k.c.File}
		}
	}
}

// line returns ", line N" for a written path, "" for in-memory configs.
func (k *checker) line(path string) string {
	if p := k.at(path); !p.IsZero() {
		return fmt.Sprintf(", line %d", p.Line)
	}
	return ""
}

func check(c *Config, l *errList) {
	k := &checker{c: c, l: l}
	k.addr("listen", c.Listen, true)
	if c.Admin != "" {
		k.addr("admin", c.Admin, true)
		if c.Admin == c.Listen {
			k.errf("admin", "admin and listen are both %q; they need different ports", c.Admin)
		}
	}
	k.adminToken()
	k.demo()
	k.trustedProxies()
	k.observe()
	k.server()
	k.paths()
	k.limits()
	k.redis()
	k.positive("timeouts.client_header", c.Timeouts.ClientHeader)
	k.positive("timeouts.client_body", c.Timeouts.ClientBody)
	k.positive("timeouts.client_idle", c.Timeouts.ClientIdle)
	for _, name := range slices.Sorted(maps.Keys(c.Clusters)) {
		k.cluster(name, c.Clusters[name])
	}
	for _, name := range slices.Sorted(maps.Keys(c.Middleware)) {
		k.middleware(name, c.Middleware[name])
	}
	k.routes()
}

// addr checks a host:port listener address; port 0 (pick a free port) is
// allowed when zeroPort, which tests rely on.
func (k *checker) addr(path, s string, zeroPort bool) {
	if s == "" {
		k.errf(path, "required: an address as host:port, e.g. 127.0.0.1:8080")
		return
	}
	if err := checkHostPort(s, zeroPort); err != nil {
		k.errf(path, "%v", err)
	}
}

func (k *checker) demo() {
	seen := map[string]int{}
	for i, a := range k.c.DemoUpstreams {
		p := fmt.Sprintf("demo_upstreams[%d]", i)
		k.addr(p, a, false)
		if j, dup := seen[a]; dup {
			k.errf(p, "%q is already demo_upstreams[%d]", a, j)
		} else if a == k.c.Listen || a == k.c.Admin {
			k.errf(p, "%q is also the listen or admin address", a)
		}
		seen[a] = i
	}
}

func (k *checker) trustedProxies() {
	for i, s := range k.c.TrustedProxies {
		if _, err := ParsePrefix(s); err != nil {
			k.errf(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not an IP address or CIDR prefix (e.g. 10.0.0.0/8)", s)
		}
	}
}

// ParsePrefix parses a trusted-proxy entry: a CIDR prefix, or one address
// standing for itself. IPv4-mapped IPv6 forms are unmapped so they match
// peers however the socket reports them.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (k *checker) server() {
	s := &k.c.Server
	if s.Loops < 0 {
		k.errf("server.loops", "must be >= 0 (0 = one loop per GOMAXPROCS), got %d", s.Loops)
	} else if s.Loops > 4096 {
		k.errf("server.loops", "must be at most 4096, got %d", s.Loops)
	}
	k.sizeRange("server.read_buffer", s.ReadBuffer, 4*KiB, 16*MiB)
	k.sizeRange("server.write_buffer", s.WriteBuffer, 0, 256*MiB)
	if s.DrainTimeout < 0 {
		k.errf("server.drain_timeout", "must not be negative")
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		k.errf("server.log_level", "unknown log level %q (use debug, info, warn or error)", s.LogLevel)
	}
	switch s.LogFormat {
	case "text", "json":
	default:
		k.errf("server.log_format", "unknown log format %q (use text or json)", s.LogFormat)
	}
}

// maxConnections bounds limits.max_connections: far above any fd limit, low
// enough that a typo (an extra few zeros) is caught.
const maxConnections = 10_000_000

// maxRequestBuffer bounds limits.request_buffer_bytes: a buffered body waits
// in the client connection's input buffer, which the engine caps at 8MiB.
const maxRequestBuffer = 8 * MiB

func (k *checker) limits() {
	l := &k.c.Limits
	k.sizeRange("limits.max_header_bytes", l.MaxHeaderBytes, KiB, MiB)
	if l.MaxURIBytes < 1 {
		k.errf("limits.max_uri_bytes", "must be > 0, got %s", l.MaxURIBytes)
	} else if l.MaxURIBytes > l.MaxHeaderBytes {
		k.errf("limits.max_uri_bytes", "must not exceed max_header_bytes (%s) since the URI is part of the head, got %s", l.MaxHeaderBytes, l.MaxURIBytes)
	}
	if l.MaxBodyBytes < 0 {
		k.errf("limits.max_body_bytes", "must not be negative (0 = unlimited)")
	}
	if l.RequestBufferBytes < 0 || l.RequestBufferBytes > maxRequestBuffer {
		k.errf("limits.request_buffer_bytes", "must be between 0 (off) and %s, got %s", ByteSize(maxRequestBuffer), l.RequestBufferBytes)
	}
	if l.MaxConnections < 0 || l.MaxConnections > maxConnections {
		k.errf("limits.max_connections", "must be between 0 (no cap) and %d, got %d", maxConnections, l.MaxConnections)
	}
	switch {
	case l.MaxConnectionsPerIP < 0:
		k.errf("limits.max_connections_per_ip", "must not be negative (0 = off), got %d", l.MaxConnectionsPerIP)
	case l.MaxConnections > 0 && l.MaxConnectionsPerIP > l.MaxConnections:
		k.errf("limits.max_connections_per_ip", "must not exceed max_connections (%d), got %d", l.MaxConnections, l.MaxConnectionsPerIP)
	}
}

func (k *checker) sizeRange(path string, v, lo, hi ByteSize) {
	if v < lo || v > hi {
		k.errf(path, "must be between %s and %s, got %s", lo, hi, v)
	}
}

func (k *checker) positive(path string, d Duration) {
	if d <= 0 {
		k.errf(path, "must be > 0, got %s", d)
	}
}

func (k *checker) cluster(name string, c *Cluster) {
	p := "clusters." + name
	if c == nil {
		k.errf(p, "empty cluster")
		return
	}
	if c.Name == "" {
		c.Name = name
	}
	if !validName(name) {
		k.errf(p, "invalid cluster name %q (use letters, digits, '_', '-' and '.')", name)
	}
	if len(c.Targets) == 0 {
		k.errf(p+".targets", "a cluster needs at least one target")
	}
	seen := map[string]int{}
	for i := range c.Targets {
		t := &c.Targets[i]
		tp := fmt.Sprintf("%s.targets[%d]", p, i)
		addr, host, err := parseTarget(t.URL)
		if err != nil {
			k.errf(tp+".url", "%v", err)
		} else {
			t.Addr, t.Host = addr, host
			if j, dup := seen[addr]; dup {
				k.errf(tp+".url", "duplicate target %s (also targets[%d]); raise its weight instead", addr, j)
			}
			seen[addr] = i
		}
		if t.Weight < 1 || t.Weight > 1000 {
			k.errf(tp+".weight", "must be between 1 and 1000, got %d", t.Weight)
		}
	}
	switch c.Balancer {
	case "round_robin", "least_request", "consistent_hash", "random":
	default:
		k.errf(p+".balancer", "unknown balancer %q (use round_robin, least_request, consistent_hash or random)", c.Balancer)
	}
	k.positive(p+".timeouts.connect", c.Timeouts.Connect)
	k.positive(p+".timeouts.response", c.Timeouts.Response)
	if c.Pool.MaxIdlePerTarget < 0 {
		k.errf(p+".pool.max_idle_per_target", "must be >= 0 (0 disables reuse), got %d", c.Pool.MaxIdlePerTarget)
	}
	k.positive(p+".pool.idle_timeout", c.Pool.IdleTimeout)
	k.traffic(p, c)
}

// parseTarget checks a target URL and derives the dial address and the
// Host header value.
func parseTarget(raw string) (addr, host string, err error) {
	if raw == "" {
		return "", "", fmt.Errorf("required: the target's URL, e.g. http://127.0.0.1:9001")
	}
	if !strings.Contains(raw, "://") {
		return "", "", fmt.Errorf("URL %q has no scheme; write http://%s", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("invalid URL %q", raw)
	}
	switch u.Scheme {
	case "http":
	case "https":
		return "", "", fmt.Errorf("https targets are not supported yet (%q); use http://", raw)
	default:
		return "", "", fmt.Errorf("unsupported scheme %q in %q (only http:// is supported)", u.Scheme, raw)
	}
	switch {
	case u.Opaque != "" || u.Host == "":
		return "", "", fmt.Errorf("URL %q has no host", raw)
	case u.User != nil:
		return "", "", fmt.Errorf("URL %q must not contain user info", raw)
	case u.Path != "" && u.Path != "/":
		return "", "", fmt.Errorf("URL %q must not have a path (rewrite paths with a route's strip_prefix)", raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", "", fmt.Errorf("URL %q must not have a query or fragment", raw)
	}
	h, port := u.Hostname(), u.Port()
	if !validHost(h) {
		return "", "", fmt.Errorf("invalid host %q in %q", h, raw)
	}
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return "", "", fmt.Errorf("URL %q has an empty port", raw)
		}
		port = "80"
	} else if n, ok := parsePort(port); !ok || n == 0 {
		return "", "", fmt.Errorf("invalid port %q in %q (1..65535)", port, raw)
	}
	return net.JoinHostPort(h, port), u.Host, nil
}

func (k *checker) middleware(name string, m *Middleware) {
	p := "middleware." + name
	if m == nil {
		k.errf(p, "empty middleware instance")
		return
	}
	if m.Name == "" {
		m.Name = name
	}
	if !validName(name) {
		k.errf(p, "invalid middleware name %q (use letters, digits, '_', '-' and '.')", name)
	}
	if m.Type == "" {
		k.errf(p+".type", "required: every middleware instance needs a type")
		return
	}
	m.Redis = k.c.Redis
	dec := middlewareDecoder(m.Type)
	if dec == nil {
		avail := strings.Join(MiddlewareTypes(), ", ")
		if avail == "" {
			avail = "none yet"
		}
		k.errf(p+".type", "unknown middleware type %q (available: %s)", m.Type, avail)
		return
	}
	for _, err := range leaves(dec(m)) {
		e, ok := err.(*Error)
		if !ok {
			k.errf(p, "%v", err)
			continue
		}
		if e.Pos.IsZero() {
			e.Pos = m.Pos
		}
		if e.Path == "" {
			e.Path = p
		}
		k.l.add(e)
	}
}

func (k *checker) routes() {
	names := map[string]int{}
	shapes := map[string][]int{} // routeShape -> indexes of routes with it
	for i, r := range k.c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		if r == nil {
			k.errf(p, "empty route")
			continue
		}
		switch j, dup := names[r.Name]; {
		case r.Name == "":
			k.errf(p+".name", "required: every route needs a unique name (it labels metrics and logs)")
		case !validName(r.Name):
			k.errf(p+".name", "invalid route name %q (use letters, digits, '_', '-' and '.')", r.Name)
		case dup:
			k.errf(p+".name", "duplicate route name %q (first used by routes[%d]%s)", r.Name, j, k.line(fmt.Sprintf("routes[%d].name", j)))
		default:
			names[r.Name] = i
		}
		pathOK := k.match(p+".match", &r.Match)
		switch _, ok := k.c.Clusters[r.Cluster]; {
		case r.Cluster == "":
			k.errf(p+".cluster", "required: the cluster that serves this route")
		case !ok:
			k.errf(p+".cluster", "unknown cluster %q%s", r.Cluster, known(r.Cluster, slices.Collect(maps.Keys(k.c.Clusters))))
		}
		if r.StripPrefix != "" && pathOK {
			if err := checkStripPrefix(r.StripPrefix, r.Match.Path); err != nil {
				k.errf(p+".strip_prefix", "%v", err)
			}
		}
		if pathOK {
			shape := routeShape(&r.Match)
			for _, j := range shapes[shape] {
				if methodsOverlap(r.Match.Methods, k.c.Routes[j].Match.Methods) {
					k.errf(p+".match", "matches the same requests as routes[%d] %q%s, so one of them could never be used",
						j, k.c.Routes[j].Name, k.line(fmt.Sprintf("routes[%d]", j)))
					break
				}
			}
			shapes[shape] = append(shapes[shape], i)
		}
		seen := map[string]int{}
		for j, name := range r.Middleware {
			mp := fmt.Sprintf("%s.middleware[%d]", p, j)
			if _, ok := k.c.Middleware[name]; !ok {
				k.errf(mp, "unknown middleware %q%s", name, known(name, slices.Collect(maps.Keys(k.c.Middleware))))
			} else if first, dup := seen[name]; dup {
				k.errf(mp, "middleware %q is already listed at middleware[%d]", name, first)
			}
			seen[name] = j
		}
	}
}

// match checks and normalizes a route's match block; it reports whether
// the path is valid (strip_prefix is checked against it only then).
func (k *checker) match(p string, m *Match) (pathOK bool) {
	if m.Path == "" {
		k.errf(p+".path", "required: a path such as /api/users/:id or /*")
	} else if err := checkPath(m.Path); err != nil {
		k.errf(p+".path", "%v", err)
	} else {
		pathOK = true
	}
	seen := map[string]int{}
	for i, meth := range m.Methods {
		mp := fmt.Sprintf("%s.methods[%d]", p, i)
		up := strings.ToUpper(meth)
		if !isToken(up) {
			k.errf(mp, "invalid method %q", meth)
		} else if j, dup := seen[up]; dup {
			k.errf(mp, "method %s is already listed at methods[%d]", up, j)
		}
		seen[up] = i
		m.Methods[i] = up
	}
	if m.Host != "" {
		m.Host = strings.ToLower(m.Host)
		if err := checkHostPattern(m.Host); err != nil {
			k.errf(p+".host", "%v", err)
		}
	}
	lower := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		hp := p + ".headers." + name
		if !isToken(name) {
			k.errf(hp, "invalid header name %q", name)
		} else if other, dup := lower[strings.ToLower(name)]; dup {
			k.errf(hp, "header %q is also listed as %q (names are case-insensitive)", name, other)
		}
		lower[strings.ToLower(name)] = name
		if strings.ContainsFunc(m.Headers[name], func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			k.errf(hp, "header value contains a control character")
		}
	}
	if v := m.AcceptVersion; v != "" && (len(v) > 9 || strings.Trim(v, "0123456789") != "" || len(v) > 1 && v[0] == '0') {
		k.errf(p+".accept_version", "accept_version %q must be 1 to 9 decimal digits without a leading zero, as in \"2\" (requests for v02 ask for 2)", v)
	}
	return pathOK
}

// known formats " (did you mean …? defined: a, b)" for a dangling reference.
func known(got string, names []string) string {
	slices.Sort(names)
	list := "none"
	if len(names) > 0 {
		list = strings.Join(names, ", ")
		if len(names) > 10 {
			list = strings.Join(names[:10], ", ") + ", …"
		}
	}
	return suggest(got, names) + " (defined: " + list + ")"
}

// checkHostPort checks a host:port address. The host may be empty (all
// interfaces), an IP or a DNS name.
func checkHostPort(s string, zeroPort bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8080)", s)
	}
	if n, ok := parsePort(port); !ok || (n == 0 && !zeroPort) {
		return fmt.Errorf("invalid port %q in %q (1..65535)", port, s)
	}
	if host != "" && !validHost(host) {
		return fmt.Errorf("invalid host %q in %q", host, s)
	}
	return nil
}

// parsePort accepts only plain decimal digits (Atoi would take "+80").
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n <= 65535
}

// routeShape is what two routes must share to match exactly the same
// requests: the path with parameter names dropped (":id" and ":name" match
// the same segments), the host, the header conditions and accept_version.
func routeShape(m *Match) string {
	var b strings.Builder
	for i, seg := range strings.Split(m.Path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if seg != "" && (seg[0] == ':' || seg[0] == '*') {
			seg = seg[:1]
		}
		b.WriteString(seg)
	}
	b.WriteString("\x00" + m.Host)
	for _, h := range slices.Sorted(maps.Keys(m.Headers)) {
		b.WriteString("\x00" + strings.ToLower(h) + ":" + m.Headers[h])
	}
	b.WriteString("\x00accept_version:" + m.AcceptVersion)
	return b.String()
}

// methodsOverlap reports whether some method is served by both lists (an
// empty list serves every method).
func methodsOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, m := range a {
		if slices.Contains(b, m) {
			return true
		}
	}
	return false
}
