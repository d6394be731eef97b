package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock drives JWKS rate limits in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// idp is a JWKS endpoint whose keys, status and speed the test controls.
type idp struct {
	srv   *httptest.Server
	hits  atomic.Int64
	mu    sync.Mutex
	doc   []byte
	code  int
	block chan struct{} // when set, requests wait for it to close
}

func newIDP(t *testing.T, keys ...*testKey) *idp {
	t.Helper()
	p := &idp{code: http.StatusOK}
	p.setKeys(t, keys...)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		doc, code, block := p.doc, p.code, p.block
		p.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(code)
		_, _ = w.Write(doc)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) setKeys(t *testing.T, keys ...*testKey) {
	t.Helper()
	var list []any
	for _, k := range keys {
		list = append(list, publicJWK(t, k))
	}
	doc, _ := json.Marshal(map[string]any{"keys": list})
	p.mu.Lock()
	p.doc = doc
	p.mu.Unlock()
}

func (p *idp) set(code int, block chan struct{}) {
	p.mu.Lock()
	p.code, p.block = code, block
	p.mu.Unlock()
}

// publicJWK renders an RSA test key as a JWK.
func publicJWK(t *testing.T, k *testKey) map[string]any {
	t.Helper()
	if k.alg[0] != 'R' && k.alg[0] != 'P' {
		t.Fatalf("publicJWK: only RSA test keys, not %s", k.alg)
	}
	return map[string]any{"kid": k.kid, "use": "sig", "alg": k.alg, "kty": "RSA",
		"n": base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes()), "e": "AQAB"}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestJWKS(t *testing.T, p *idp, clk *fakeClock) *JWKS {
	t.Helper()
	j, err := NewJWKS(p.srv.URL+"/jwks.json", JWKSOptions{
		Refresh:     time.Hour, // scheduled refreshes stay out of the way
		MinInterval: 10 * time.Second,
		Timeout:     2 * time.Second,
		Logger:      quietLogger(),
		Now:         clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// waiter counts how often the resume of one park runs.
type waiter struct {
	parked  atomic.Int64
	resumed atomic.Int64
	done    chan struct{}
	once    sync.Once
}

func newWaiter() *waiter { return &waiter{done: make(chan struct{})} }

func (w *waiter) park() func() {
	w.parked.Add(1)
	return func() {
		w.resumed.Add(1)
		w.once.Do(func() { close(w.done) })
	}
}

func (w *waiter) wait(t *testing.T) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("resume never called")
	}
}

// awaitFetch starts (or joins) a fetch and waits for it to end.
func awaitFetch(t *testing.T, j *JWKS) {
	t.Helper()
	w := newWaiter()
	if !j.Await(w.park) {
		t.Fatal("Await refused")
	}
	w.wait(t)
}

// firstFetch waits for the fetch NewJWKS started. If it already ended,
// Await is refused by the rate limit (the clock has not moved), which says
// the same.
func firstFetch(t *testing.T, j *JWKS) {
	t.Helper()
	w := newWaiter()
	if j.Await(w.park) {
		w.wait(t)
	}
	if j.Fetches() != 1 {
		t.Fatalf("%d fetches", j.Fetches())
	}
}

func verifyWith(t *testing.T, j *JWKS, tk *testKey) error {
	t.Helper()
	v, err := NewVerifier(Policy{Algorithms: []string{"RS256", "PS256"}}, j)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify([]byte(sign(t, tk, claimsAt(t0), nil)), t0.UnixNano())
	return err
}

func TestJWKSRotation(t *testing.T) {
	testKeys(t)
	old := &testKey{alg: "RS256", priv: rsaKey, pub: &rsaKey.PublicKey, kid: "2024-old"}
	nw := &testKey{alg: "RS256", priv: rsaKey, pub: &rsaKey.PublicKey, kid: "2025-new"}
	p := newIDP(t, old)
	clk := &fakeClock{t: t0}
	j := newTestJWKS(t, p, clk)
	firstFetch(t, j)
	if err := verifyWith(t, j, old); err != nil {
		t.Fatalf("old kid: %v", err)
	}
	gen := j.Keys().Generation()

	// The IdP rotates. The new kid is unknown until a refresh...
	p.setKeys(t, nw)
	if err := verifyWith(t, j, nw); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("new kid before refresh: %v", err)
	}
	// ...which the rate limit refuses right after the first fetch...
	if j.Await(newWaiter().park) {
		t.Fatal("Await not rate-limited right after a fetch")
	}
	// ...and allows MinInterval later.
	clk.Advance(10 * time.Second)
	awaitFetch(t, j)
	if err := verifyWith(t, j, nw); err != nil {
		t.Errorf("new kid after refresh: %v", err)
	}
	if err := verifyWith(t, j, old); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old kid after rotation: %v", err)
	}
	if j.Keys().Generation() == gen {
		t.Error("the key set generation did not change")
	}
	if n := p.hits.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}

	// An unchanged document keeps the set and its generation (cached
	// verdicts stay good).
	gen = j.Keys().Generation()
	clk.Advance(10 * time.Second)
	awaitFetch(t, j)
	if j.Keys().Generation() != gen {
		t.Error("an identical document changed the generation")
	}
}

func TestJWKSServerDown(t *testing.T) {
	k := &testKey{alg: "RS256", priv: rsaKey, pub: &rsaKey.PublicKey, kid: "k1"}
	testKeys(t)
	p := newIDP(t, k)
	clk := &fakeClock{t: t0}
	j := newTestJWKS(t, p, clk)
	firstFetch(t, j)

	for name, breakIt := range map[string]func(){
		"500":       func() { p.set(http.StatusInternalServerError, nil) },
		"not JSON":  func() { p.set(http.StatusOK, nil); p.mu.Lock(); p.doc = []byte("<html>"); p.mu.Unlock() },
		"no keys":   func() { p.mu.Lock(); p.doc = []byte(`{"keys":[]}`); p.mu.Unlock() },
		"too large": func() { p.mu.Lock(); p.doc = make([]byte, DefaultJWKSMaxBytes+1); p.mu.Unlock() },
		"down":      func() { p.srv.Close() },
	} {
		breakIt()
		clk.Advance(10 * time.Second)
		awaitFetch(t, j)
		if err := verifyWith(t, j, k); err != nil {
			t.Errorf("%s: cached key stopped working: %v", name, err)
		}
		if !j.Loaded() {
			t.Errorf("%s: Loaded went false", name)
		}
	}
}

// TestJWKSFlood: many requests with random kids cost the IdP at most one
// fetch per MinInterval.
func TestJWKSFlood(t *testing.T) {
	k := &testKey{alg: "RS256", priv: rsaKey, pub: &rsaKey.PublicKey, kid: "k1"}
	testKeys(t)
	p := newIDP(t, k)
	clk := &fakeClock{t: t0}
	j := newTestJWKS(t, p, clk)
	firstFetch(t, j)

	flood := func() (parked []*waiter) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := newWaiter()
				if j.Await(w.park) {
					mu.Lock()
					parked = append(parked, w)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return parked
	}

	// Within MinInterval of the last fetch: nobody parks, nothing fetched.
	if parked := flood(); len(parked) != 0 {
		t.Errorf("%d requests parked while rate-limited", len(parked))
	}
	// Past it: the first unknown kid starts one fetch (held open by the
	// IdP) and every other request joins it.
	release := make(chan struct{})
	p.set(http.StatusOK, release)
	clk.Advance(10 * time.Second)
	parked := flood()
	close(release)
	for _, w := range parked {
		w.wait(t)
		if w.parked.Load() != 1 || w.resumed.Load() != 1 {
			t.Fatalf("parked %d, resumed %d", w.parked.Load(), w.resumed.Load())
		}
	}
	if len(parked) != 500 {
		t.Errorf("%d of 500 requests joined the fetch", len(parked))
	}
	if n := p.hits.Load(); n != 2 {
		t.Errorf("the IdP got %d requests, want 2 (first fetch + one refresh)", n)
	}
	if f := flood(); len(f) != 0 {
		t.Errorf("%d requests parked right after the refresh", len(f))
	}
}

func TestJWKSFirstFetchParks(t *testing.T) {
	k := &testKey{alg: "RS256", priv: rsaKey, pub: &rsaKey.PublicKey, kid: "k1"}
	testKeys(t)
	p := newIDP(t, k)
	release := make(chan struct{})
	p.set(http.StatusOK, release)
	j := newTestJWKS(t, p, &fakeClock{t: t0})
	if err := verifyWith(t, j, k); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before the first fetch: %v", err)
	}
	w := newWaiter()
	if !j.Await(w.park) {
		t.Fatal("Await refused during the first fetch")
	}
	if w.resumed.Load() != 0 {
		t.Fatal("resumed before the fetch ended")
	}
	close(release)
	w.wait(t)
	if err := verifyWith(t, j, k); err != nil {
		t.Errorf("after the first fetch: %v", err)
	}
}

// TestJWKSTimeoutResumesOnce: a hung IdP still resumes each parked
// request exactly once, when the fetch times out.
func TestJWKSTimeoutResumesOnce(t *testing.T) {
	testKeys(t)
	p := newIDP(t)
	p.set(http.StatusOK, make(chan struct{})) // never released
	j, err := NewJWKS(p.srv.URL, JWKSOptions{Timeout: 500 * time.Millisecond, MinInterval: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ws := []*waiter{newWaiter(), newWaiter(), newWaiter()}
	for _, w := range ws {
		if !j.Await(w.park) {
			t.Fatal("Await refused")
		}
	}
	for _, w := range ws {
		w.wait(t)
	}
	if j.Loaded() {
		t.Error("Loaded after a timed-out fetch")
	}
	if j.Await(newWaiter().park) {
		t.Error("a retry was allowed inside MinInterval")
	}
	for _, w := range ws {
		if w.resumed.Load() != 1 {
			t.Errorf("resumed %d times", w.resumed.Load())
		}
	}
}

func TestJWKSCloseResumes(t *testing.T) {
	testKeys(t)
	p := newIDP(t)
	p.set(http.StatusOK, make(chan struct{}))
	j, _ := NewJWKS(p.srv.URL, JWKSOptions{Logger: quietLogger()})
	w := newWaiter()
	if !j.Await(w.park) {
		t.Fatal("Await refused")
	}
	_ = j.Close()
	w.wait(t)
	if j.Await(newWaiter().park) {
		t.Error("Await after Close")
	}
	_ = j.Close() // twice is fine
	if w.resumed.Load() != 1 {
		t.Errorf("resumed %d times", w.resumed.Load())
	}
}

func TestJWKSScheduledRefresh(t *testing.T) {
	k := &testKey{alg: "RS256", priv: rsaKey, pub: &rsaKey.PublicKey, kid: "k1"}
	testKeys(t)
	p := newIDP(t, k)
	j, _ := NewJWKS(p.srv.URL, JWKSOptions{Refresh: 20 * time.Millisecond, Logger: quietLogger()})
	defer j.Close()
	deadline := time.Now().Add(10 * time.Second)
	for p.hits.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches in 10s with a 20ms refresh", p.hits.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewJWKSBadURL(t *testing.T) {
	for _, u := range []string{"", "file:///etc/passwd", "127.0.0.1:9000/jwks", "http://"} {
		if _, err := NewJWKS(u, JWKSOptions{}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func ExampleJWKS_Await() {
	// In a filter: park the request until the key set may know the kid.
	//
	//	if errors.Is(err, auth.ErrUnknownKey) && jwks.Await(x.Park) {
	//		return filter.Pause
	//	}
	fmt.Println("see filter/jwt")
	// Output: see filter/jwt
}
