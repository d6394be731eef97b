package admin

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostCheckWithoutToken: without a token only loopback names and
// addresses are answered (DNS-rebinding protection); /healthz and any
// request carrying the configured token are not affected.
func TestHostCheckWithoutToken(t *testing.T) {
	gw := &fakeGateway{run: newRunning(t, testYAML)}
	s := New(Options{Gateway: gw})
	cases := []struct {
		host string
		want int
	}{
		{"rebind.evil.example:9901", 403},
		{"rebind.evil.example", 403},
		{"localhost.evil.example", 403},
		{"127.0.0.1.nip.io:9901", 403},
		{"evil.localhost.example", 403},
		{"10.0.0.7:9901", 403}, // not loopback, not the address it arrived on
		{"[fe80::1%25eth0]:9901", 403},
		{"localhost", 200},
		{"LOCALHOST:9901", 200},
		{"localhost.:9901", 200},
		{"admin.localhost:9901", 200},
		{"127.0.0.1", 200},
		{"127.0.0.1:9901", 200},
		{"127.9.8.7:1", 200},
		{"[::1]:9901", 200},
		{"[::1]", 200},
		{"[::ffff:127.0.0.1]:9901", 200},
		{"", 200}, // HTTP/1.0 without Host: not a browser
	}
	for _, tc := range cases {
		t.Run(tc.host, func(t *testing.T) {
			for _, path := range []string{"/config", "/metrics", "/routes"} {
				code, _, body := do(t, s, "GET", path, "", "Host", tc.host)
				if code != tc.want {
					t.Fatalf("GET %s Host %q: %d, want %d\n%s", path, tc.host, code, tc.want, body)
				}
				if code == 403 {
					decode[map[string]string](t, body)
					if strings.Contains(body, "X-Internal-Token") {
						t.Errorf("a refused answer shows config: %s", body)
					}
				}
			}
			if code, _, _ := do(t, s, "POST", "/reload", "", "Host", tc.host); tc.want == 403 && code != 403 {
				t.Errorf("POST /reload Host %q: %d, want 403", tc.host, code)
			}
		})
	}
	if code, _, _ := do(t, s, "GET", "/healthz", "", "Host", "rebind.evil.example"); code != 200 {
		t.Errorf("/healthz with a foreign Host: %d, want 200", code)
	}

	// The address the request arrived on is accepted: an admin listener
	// bound beyond loopback, reached by its IP.
	r := httptest.NewRequest("GET", "/routes", nil)
	r.Host = "10.0.0.7:9901"
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(&net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 9901})))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("Host = the local address: %d, want 200", w.Code)
	}

	// With a token, the token is the protection: any Host.
	s.SetToken("host-check-token-0123456789")
	if code, _, _ := do(t, s, "GET", "/config", "host-check-token-0123456789", "Host", "gateway.internal.example:9901"); code != 200 {
		t.Errorf("token and a DNS name: %d, want 200", code)
	}
}
