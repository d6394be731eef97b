package config

import (
	"strings"
	"testing"
)

// TestConnectionLimitKeys: limits.max_connections and
// limits.max_connections_per_ip default to 0 (no cap), decode strictly and
// are range-checked with the key's position.
func TestConnectionLimitKeys(t *testing.T) {
	base := "clusters: {a: {targets: [\"http://127.0.0.1:9\"]}}\nroutes: [{name: r, match: {path: /}, cluster: a}]\n"
	c, err := Parse("t.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Limits; l.MaxConnections != 0 || l.MaxConnectionsPerIP != 0 {
		t.Errorf("defaults: %+v, want both 0 (no cap)", l)
	}
	c, err = Parse("t.yaml", []byte(base+"limits: {max_connections: 50000, max_connections_per_ip: 100}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Limits; l.MaxConnections != 50000 || l.MaxConnectionsPerIP != 100 {
		t.Errorf("set: %+v", l)
	}
	for _, tc := range []struct{ yaml, want string }{
		// A negative cap is a mistake, not "unlimited".
		{"limits: {max_connections: -1}", `t.yaml:3:27: limits.max_connections: must be between 0 (no cap) and 10000000, got -1`},
		// An extra few zeros is caught.
		{"limits: {max_connections: 100000000}", `limits.max_connections: must be between 0 (no cap) and 10000000`},
		{"limits: {max_connections_per_ip: -5}", `limits.max_connections_per_ip: must not be negative (0 = off), got -5`},
		// A per-IP cap above the global one could never bind.
		{"limits: {max_connections: 10, max_connections_per_ip: 11}", `limits.max_connections_per_ip: must not exceed max_connections (10), got 11`},
		// Counts, not sizes or strings.
		{"limits: {max_connections: 10k}", `limits.max_connections`},
		{"limits: {max_connections_per_ip: 1.5}", `limits.max_connections_per_ip`},
		// Strict decoding: a misspelt key is an error.
		{"limits: {max_conns: 10}", `max_conns`},
	} {
		_, err := Parse("t.yaml", []byte(base+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// A per-IP cap alone (no global cap) is fine.
	if _, err := Parse("t.yaml", []byte(base+"limits: {max_connections_per_ip: 20}\n")); err != nil {
		t.Errorf("per-IP cap without a global cap: %v", err)
	}
}

// TestRequestBufferingKeys: limits.request_buffer_bytes defaults to 64KiB
// (buffering on), takes sizes, 0 turns it off, and is bounded by the 8MiB the
// engine lets a client's input grow to; timeouts.client_body defaults to 10s
// and must be > 0. Errors carry the key's position.
func TestRequestBufferingKeys(t *testing.T) {
	base := "clusters: {a: {targets: [\"http://127.0.0.1:9\"]}}\nroutes: [{name: r, match: {path: /}, cluster: a}]\n"
	c, err := Parse("t.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.RequestBufferBytes != 64*KiB || c.Timeouts.ClientBody.D().String() != "10s" {
		t.Errorf("defaults: request_buffer_bytes %s, client_body %s; want 64KiB and 10s", c.Limits.RequestBufferBytes, c.Timeouts.ClientBody)
	}
	for _, tc := range []struct {
		yaml   string
		buffer ByteSize
	}{
		{"limits: {request_buffer_bytes: 0}", 0}, // off: every body streams
		{"limits: {request_buffer_bytes: 1MiB}", MiB},
		{"limits: {request_buffer_bytes: 8MiB}", 8 * MiB},
	} {
		c, err := Parse("t.yaml", []byte(base+tc.yaml+"\n"))
		if err != nil || c.Limits.RequestBufferBytes != tc.buffer {
			t.Errorf("%s: got %v, %v; want %s", tc.yaml, c, err, tc.buffer)
		}
	}
	for _, tc := range []struct{ yaml, want string }{
		{"limits: {request_buffer_bytes: 9MiB}", `t.yaml:3:32: limits.request_buffer_bytes: must be between 0 (off) and 8MiB, got 9MiB`},
		{"limits: {request_buffer_bytes: -1}", `limits.request_buffer_bytes`},
		{"limits: {request_buffer_bytes: lots}", `limits.request_buffer_bytes`},
		{"timeouts: {client_body: 0s}", `timeouts.client_body: must be > 0`},
		{"timeouts: {client_bdy: 5s}", `client_bdy`},
	} {
		_, err := Parse("t.yaml", []byte(base+tc.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
