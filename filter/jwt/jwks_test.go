package jwt

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/filter"
)

// fakeIDP serves a JWKS with the RSA test key under the kids it is told,
// optionally holding requests until released.
type fakeIDP struct {
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	kids []string
	hold chan struct{}
}

func newFakeIDP(t *testing.T, pub *rsa.PublicKey, kids ...string) *fakeIDP {
	p := &fakeIDP{kids: kids}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		kids, hold := p.kids, p.hold
		p.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		var keys []any
		for _, k := range kids {
			keys = append(keys, map[string]any{"kty": "RSA", "kid": k, "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": "AQAB"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakeIDP) set(hold chan struct{}, kids ...string) {
	p.mu.Lock()
	p.hold, p.kids = hold, kids
	p.mu.Unlock()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestJWKSParking walks the park/resume contract: park during the first
// fetch, park once on an unknown kid and succeed after rotation, and get
// 401 (without a second park) when a refresh does not bring the kid.
func TestJWKSParking(t *testing.T) {
	s := testSigners(t)["RS256"]
	pub := &s.priv.(*rsa.PrivateKey).PublicKey
	hold := make(chan struct{})
	p := newFakeIDP(t, pub, "k1")
	p.set(hold, "k1")

	c, err := parse(t, t.TempDir(), "  a: {type: jwt, algorithms: [RS256], jwks_url: '"+p.srv.URL+"/jwks.json'}\n")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: now}
	settings := c.Middleware["a"].Settings.(*Settings)
	settings.jwksOptions = &auth.JWKSOptions{Now: clk.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f, err := New(settings)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok := func(kid string) string { return s.token(t, claims(nil), map[string]any{"kid": kid}) }

	// 1. Before the first fetch ends: park, then pass once resumed.
	pk := newParker()
	x := exchange(pk, "", bearer(tok("k1")))
	if v := f.Request(x); v != filter.Pause {
		t.Fatalf("during the first fetch: verdict %v (%s)", v, x.Message)
	}
	close(hold)
	pk.wait(t)
	if got := run(f, x); got.verdict != filter.Continue || got.upstream != identityHeaders {
		t.Fatalf("after the first fetch: %+v", got)
	}

	// 2. Rotation: the new kid parks once, then passes.
	p.set(nil, "k2")
	clk.Advance(auth.DefaultJWKSMinInterval)
	x = exchange(pk, "", bearer(tok("k2")))
	if v := f.Request(x); v != filter.Pause {
		t.Fatalf("new kid: verdict %v (%s)", v, x.Message)
	}
	pk.wait(t)
	if got := run(f, x); got.verdict != filter.Continue {
		t.Fatalf("new kid after refresh: %+v", got)
	}
	// The old kid is gone from the set; right after a fetch no refresh is
	// allowed, so it fails at once, without parking.
	parks := pk.parks.Load()
	if got := run(f, exchange(pk, "", bearer(tok("k1")))); got.message != "Invalid token" || pk.parks.Load() != parks {
		t.Fatalf("rotated-out kid: %+v, parks %d -> %d", got, parks, pk.parks.Load())
	}

	// 3. A kid the refresh does not bring: park once, then 401.
	clk.Advance(auth.DefaultJWKSMinInterval)
	x = exchange(pk, "", bearer(tok("nobody")))
	if v := f.Request(x); v != filter.Pause {
		t.Fatalf("unknown kid: verdict %v", v)
	}
	pk.wait(t)
	if got := run(f, x); got.verdict != filter.Respond || got.message != "Invalid token" {
		t.Fatalf("unknown kid after refresh: %+v", got)
	}
	if pk.parks.Load() != pk.resumes.Load() {
		t.Errorf("%d parks, %d resumes", pk.parks.Load(), pk.resumes.Load())
	}

	// 4. A flood of random kids within the rate limit: no fetch, no park.
	hits, parks := p.hits.Load(), pk.parks.Load()
	for i := range 200 {
		got := run(f, exchange(pk, "", bearer(tok("random-"+string(rune('a'+i%26))+time.Duration(i).String()))))
		if got.message != "Invalid token" {
			t.Fatalf("random kid: %+v", got)
		}
	}
	if p.hits.Load() != hits || pk.parks.Load() != parks {
		t.Errorf("flood: %d fetches, %d parks", p.hits.Load()-hits, pk.parks.Load()-parks)
	}

	// 5. The IdP goes down: the cached key set keeps serving.
	p.srv.Close()
	clk.Advance(auth.DefaultJWKSMinInterval)
	x = exchange(pk, "", bearer(tok("k3")))
	if v := f.Request(x); v != filter.Pause {
		t.Fatalf("unknown kid, IdP down: verdict %v", v)
	}
	pk.wait(t)
	if got := run(f, x); got.message != "Invalid token" {
		t.Fatalf("unknown kid, IdP down: %+v", got)
	}
	if got := run(f, exchange(pk, "", bearer(tok("k2")))); got.verdict != filter.Continue {
		t.Errorf("known kid, IdP down: %+v", got)
	}
}

// TestCloseResumesParked: closing the filter (snapshot retired) resumes a
// request parked on a fetch that never ends.
func TestCloseResumesParked(t *testing.T) {
	s := testSigners(t)["RS256"]
	p := newFakeIDP(t, &s.priv.(*rsa.PrivateKey).PublicKey, "k1")
	p.set(make(chan struct{}), "k1")
	c, err := parse(t, t.TempDir(), "  a: {type: jwt, algorithms: [RS256], jwks_url: '"+p.srv.URL+"'}\n")
	if err != nil {
		t.Fatal(err)
	}
	settings := c.Middleware["a"].Settings.(*Settings)
	settings.jwksOptions = &auth.JWKSOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f, err := New(settings)
	if err != nil {
		t.Fatal(err)
	}
	pk := newParker()
	x := exchange(pk, "", bearer(s.token(t, claims(nil), map[string]any{"kid": "k1"})))
	if v := f.Request(x); v != filter.Pause {
		t.Fatalf("verdict %v", v)
	}
	_ = f.Close()
	pk.wait(t)
	if got := run(f, x); got.message != "Invalid token" || pk.resumes.Load() != 1 {
		t.Errorf("after Close: %+v, %d resumes", got, pk.resumes.Load())
	}
}
