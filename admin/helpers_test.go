package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/pipeline"
)

// keyHash is a key_sha256 in the test config: it must never reach /config.
const keyHash = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0"

// testYAML has a secret of every kind the redaction rules know.
const testYAML = `listen: 127.0.0.1:18080
admin: 127.0.0.1:19901
admin_token_env: ADMIN_TEST_TOKEN_VAR
clusters:
  users:
    targets: [http://127.0.0.1:9001, {url: "http://127.0.0.1:9002", weight: 2}]
    balancer: least_request
  plain:
    targets: [http://127.0.0.1:9003]
    breaker: {enabled: false}
middleware:
  keys:
    type: api_key
    consumers: [{id: mobile-app, key_sha256: ` + keyHash + `}]
  auth:
    type: jwt
    algorithms: [HS256]
    secret_env: JWT_SECRET_VAR_NAME
routes:
  - name: users
    match: {path: /api/users/*, methods: [get, post], headers: {X-Internal-Token: hunter2-header-value, X-Version: "2", X-Origin-Verify: cdn-shared-5ecret-value}}
    cluster: users
    strip_prefix: /api
    middleware: [keys]
  - {name: plain, match: {path: /plain}, cluster: plain}
`

// fakeGateway is a Gateway whose state the test sets.
type fakeGateway struct {
	mu      sync.Mutex
	run     *Running
	ready   error
	reload  func() (*ReloadResult, error)
	reloads int
	last    *ReloadReport
}

func (g *fakeGateway) Running() *Running {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run
}

func (g *fakeGateway) Ready() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ready
}

func (g *fakeGateway) LastReload() *ReloadReport {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

func (g *fakeGateway) Reload() (*ReloadResult, error) {
	g.mu.Lock()
	g.reloads++
	f := g.reload
	g.mu.Unlock()
	if f == nil {
		return nil, errors.New("no reload in this test")
	}
	return f()
}

// newRunning parses text and builds its snapshot.
func newRunning(t *testing.T, text string) *Running {
	t.Helper()
	t.Setenv("JWT_SECRET_VAR_NAME", "a-jwt-hmac-secret-of-32-bytes-at-least!!")
	cfg, err := config.Parse("sluice.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	snap, err := pipeline.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snap.Close)
	return &Running{Config: cfg, Snapshot: snap, LoadedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// do sends one request to h and returns the status, headers and body.
// Host is 127.0.0.1:9901, as curl would send it to the default admin
// address, unless hdr sets "Host".
func do(t *testing.T, h http.Handler, method, path, token string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	r.Host = "127.0.0.1:9901"
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			r.Host = hdr[i+1]
			continue
		}
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, w.Result().Header, string(b)
}

// decode unmarshals a JSON body or fails the test.
func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return v
}

func containsAll(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q:\n%s", w, body)
		}
	}
}
