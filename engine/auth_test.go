package engine

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// End-to-end tests of the authentication middleware (jwt, api_key, require,
// audit_log) through the real engine: real sockets on 127.0.0.1, real
// upstreams, the shipped filter types as the pipeline links them.

// ---- helpers ----

// authSecret is the HMAC secret of the HS256 routes (32 bytes: the least
// HS256 accepts).
const authSecret = "engine-test-secret-0123456789abc"

// hsToken signs claims with authSecret.
func hsToken(t testing.TB, claims gojwt.MapClaims) string {
	t.Helper()
	s, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString([]byte(authSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// userClaims is a valid claims set for sub with role, expiring in an hour
// (the engine's clock is the real one).
func userClaims(sub, role string) gojwt.MapClaims {
	now := time.Now()
	return gojwt.MapClaims{"sub": sub, "role": role, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// hsAuthConfig is the middleware block of the HS256 tests: the secret comes
// from the environment, as the config never holds it inline.
func hsAuthConfig(t testing.TB, extra string) string {
	t.Helper()
	t.Setenv("SLUICE_ENGINE_TEST_SECRET", authSecret)
	return "middleware:\n  auth: {type: jwt, algorithms: [HS256], secret_env: SLUICE_ENGINE_TEST_SECRET}\n" + extra
}

// authRoute is one route of a test config: path pattern, cluster up, middleware.
func authRoute(name, path, middleware string) string {
	s := fmt.Sprintf("  - name: %s\n    match: {path: %s}\n    cluster: up\n", name, path)
	if middleware != "" {
		s += "    middleware: [" + middleware + "]\n"
	}
	return s
}

// authGet sends a GET with extra header lines ("Name: value") on rc and reads
// the response.
func (c *rawConn) authGet(path string, headers ...string) (*http.Response, string) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: gw.test\r\n", path)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	c.send(b.String())
	return c.readResponse("GET")
}

// authEcho decodes an echoHandler body.
func authEcho(t *testing.T, body string) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("upstream echo %q: %v", body, err)
	}
	return e
}

// ecKey is an ES256 signing key published in a JWKS under kid.
type ecKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newECKey(t testing.TB, kid string) *ecKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &ecKey{kid: kid, priv: k}
}

// jwk is the public JWK of the key (RFC 7518 §6.2: fixed-width coordinates).
func (k *ecKey) jwk() map[string]string {
	pad := func(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.FillBytes(make([]byte, 32))) }
	return map[string]string{"kty": "EC", "crv": "P-256", "kid": k.kid, "alg": "ES256", "use": "sig",
		"x": pad(k.priv.X), "y": pad(k.priv.Y)}
}

// token returns an ES256 token with the key's kid. Any goroutine.
func (k *ecKey) token(claims gojwt.MapClaims) (string, error) {
	tok := gojwt.NewWithClaims(gojwt.SigningMethodES256, claims)
	tok.Header["kid"] = k.kid
	return tok.SignedString(k.priv)
}

// sign is token for the test's goroutine.
func (k *ecKey) sign(t testing.TB, claims gojwt.MapClaims) string {
	t.Helper()
	s, err := k.token(claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jwksServer is an identity provider's JWKS endpoint on 127.0.0.1 whose
// document the test changes. It counts the fetches that got each version
// of the document, and can hold the first fetch or fail every fetch.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	version int
	served  map[int]int // version -> fetches that got it

	hits     atomic.Int64  // fetches received
	hold     chan struct{} // closed to let the first fetch answer
	holdOnce sync.Once
	down     atomic.Bool  // fail every fetch (connection dropped, no answer)
	downHits atomic.Int64 // fetches failed that way
}

func startJWKS(t *testing.T, keys ...*ecKey) *jwksServer {
	t.Helper()
	j := &jwksServer{served: map[int]int{}, hold: make(chan struct{})}
	j.publish(keys...)
	j.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if j.hits.Add(1) == 1 {
			select {
			case <-j.hold:
			case <-time.After(3 * time.Second):
			}
		}
		if j.down.Load() {
			j.downHits.Add(1)
			panic(http.ErrAbortHandler) // drop the connection without an answer
		}
		j.mu.Lock()
		doc, v := j.doc, j.version
		j.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(doc)
		// Counted once the document is written: from then on the gateway's
		// fetch is either still in flight (a request naming a new kid waits
		// for it) or done.
		j.mu.Lock()
		j.served[v]++
		j.mu.Unlock()
	}))
	t.Cleanup(func() { j.release(); j.Close() })
	return j
}

// release lets the held first fetch answer.
func (j *jwksServer) release() { j.holdOnce.Do(func() { close(j.hold) }) }

// publish replaces the document with one holding keys, as a new version.
func (j *jwksServer) publish(keys ...*ecKey) int {
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	doc, _ := json.Marshal(set)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.doc = doc
	j.version++
	return j.version
}

// servedCount is how many fetches got version v.
func (j *jwksServer) servedCount(v int) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.served[v]
}

// ---- 1. JWKS rotation under load ----

// TestJWKSRotationUnderLoad runs keep-alive clients sending valid ES256
// tokens through a jwks_url route while the identity provider rotates its
// key the way providers do (publish the new key, sign with it, retire the
// old one), then goes down. No valid request may be refused at any point:
//   - requests arriving before the first fetch has answered wait for it
//     (parked on the loop) and pass;
//   - tokens signed with the new key, sent once the provider has served
//     the document holding it, pass (a fetch still in flight is waited on);
//   - after the old key is retired, tokens signed with it are refused;
//   - with the provider failing and then closed, the cached key set keeps
//     verifying new tokens.
func TestJWKSRotationUnderLoad(t *testing.T) {
	k1, k2 := newECKey(t, "key-1"), newECKey(t, "key-2")
	idp := startJWKS(t, k1)
	up := startUpstream(t, echoHandler("a"))
	mw := fmt.Sprintf("middleware:\n  auth: {type: jwt, algorithms: [ES256], jwks_url: %q, jwks_refresh: 1s}\n", idp.URL+"/jwks.json")
	g := startGateway(t, oneCluster(up.addr, mw, authRoute("api", "/api/*", "auth")), 2)

	send := func(c *http.Client, tok string) (int, string, error) {
		req, _ := http.NewRequest("GET", g.url("/api/orders"), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body), err
	}
	newClient := func() *http.Client {
		tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 5 * time.Second}
	}

	// Cold start: the first fetch is held, so requests wait for it.
	eventually(t, 2*time.Second, "the gateway's first JWKS fetch", func() bool { return idp.hits.Load() >= 1 })
	cold := make(chan string, 4)
	for i := range 4 {
		tok := k1.sign(t, userClaims(fmt.Sprintf("cold-%d", i), "user"))
		go func() {
			code, body, err := send(newClient(), tok)
			cold <- fmt.Sprintf("%d %s %v", code, strings.TrimSpace(body), err)
		}()
	}
	eventually(t, 5*time.Second, "4 requests parked on the first JWKS fetch", func() bool { return parkedExchanges(t, g) == 4 })
	select {
	case got := <-cold:
		t.Fatalf("a request was answered before any key was known: %s", got)
	default:
	}
	idp.release()
	for range 4 {
		if got := <-cold; !strings.HasPrefix(got, "200 ") {
			t.Fatalf("request parked on the first fetch: %s", got)
		}
	}

	// The load: each worker on its own keep-alive connection, alternating a
	// fresh token (full verification) with one reused per phase (the cache),
	// signed with the key of the phase in which the request starts.
	const workers = 4
	var (
		phase    atomic.Int32
		keys     = [...]*ecKey{k1, k2, k2, k2}
		ok       [len(keys)]atomic.Int64
		seen     [workers]atomic.Int32 // last phase a worker finished a request of
		stop     atomic.Bool
		failMu   sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			reused := map[int32]string{}
			for n := 0; !stop.Load(); n++ {
				p := phase.Load()
				tok := reused[p]
				var code int
				var body string
				var err error
				if tok == "" || n%2 == 0 {
					tok, err = keys[p].token(userClaims(fmt.Sprintf("w%d-%d", w, n), "user"))
					reused[p] = tok
				}
				if err == nil {
					code, body, err = send(c, tok)
				}
				if code != 200 {
					failMu.Lock()
					failures = append(failures, fmt.Sprintf("phase %d worker %d: %d %s %v", p, w, code, strings.TrimSpace(body), err))
					failMu.Unlock()
				} else {
					ok[p].Add(1)
				}
				seen[w].Store(p)
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()
	enough := func(p int) func() bool { return func() bool { return ok[p].Load() >= 20 } }
	allIn := func(p int32) func() bool {
		return func() bool {
			for w := range workers {
				if seen[w].Load() < p {
					return false
				}
			}
			return true
		}
	}

	eventually(t, 3*time.Second, "load with key-1", enough(0))

	// Rotation, step 1: publish key-2 next to key-1; once the gateway has
	// fetched it, sign with key-2.
	v := idp.publish(k1, k2)
	eventually(t, 3*time.Second, "a fetch of the document with key-2", func() bool { return idp.servedCount(v) >= 1 })
	phase.Store(1)
	eventually(t, 3*time.Second, "load with key-2", enough(1))
	eventually(t, 3*time.Second, "every worker on key-2", allIn(1))

	// Step 2: retire key-1 (no request signed with it is in flight now).
	v = idp.publish(k2)
	eventually(t, 3*time.Second, "a fetch of the document without key-1", func() bool { return idp.servedCount(v) >= 1 })
	phase.Store(2)
	rc := dialRaw(t, g.addr)
	resp, body := rc.authGet("/api/retired", "Authorization: Bearer "+k1.sign(t, userClaims("late", "user")))
	expectGatewayError(t, resp, body, 401, "Invalid token", "", false)
	eventually(t, 3*time.Second, "load after key-1 was retired", enough(2))

	// The provider fails, then is gone: the cached key set keeps serving.
	idp.down.Store(true)
	eventually(t, 3*time.Second, "a failed JWKS fetch", func() bool { return idp.downHits.Load() >= 1 })
	idp.Close()
	phase.Store(3)
	downAt := time.Now()
	eventually(t, 3*time.Second, "load with the provider down", func() bool {
		return ok[3].Load() >= 20 && time.Since(downAt) > 200*time.Millisecond
	})
	stop.Store(true)
	wg.Wait()

	failMu.Lock()
	defer failMu.Unlock()
	if len(failures) > 0 {
		t.Errorf("%d valid requests refused, first ones:\n%s", len(failures), strings.Join(failures[:min(len(failures), 10)], "\n"))
	}
	t.Logf("ok per phase: %d %d %d %d; JWKS fetches %d (%d failed)", ok[0].Load(), ok[1].Load(), ok[2].Load(), ok[3].Load(), idp.hits.Load(), idp.downHits.Load())
}

// ---- 2. forged identity headers ----

// authHeadRecorder is an upstream that records each request head it gets, as
// raw lines (net/http would canonicalise the names we want to see), and
// answers 200 on a keep-alive connection.
func authHeadRecorder(t *testing.T) (addr string, heads chan []string) {
	return headRecorder(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
}

// headRecorder is authHeadRecorder answering every request with resp.
func headRecorder(t *testing.T, resp string) (addr string, heads chan []string) {
	heads = make(chan []string, 16)
	up := startScriptedUpstream(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			var lines []string
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
				lines = append(lines, strings.TrimRight(line, "\r\n"))
			}
			heads <- lines
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	})
	return up.addr, heads
}

// authIdentityLines returns the head's lines whose names read as X-User-* or
// X-Consumer-* to any upstream (case folded, '_' as '-', as CGI stacks do).
func authIdentityLines(head []string) []string {
	var out []string
	for _, line := range head[1:] {
		name, _, _ := strings.Cut(line, ":")
		norm := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if strings.HasPrefix(norm, "x-user-") || strings.HasPrefix(norm, "x-consumer-") {
			out = append(out, line)
		}
	}
	return out
}

// TestForgedIdentityHeadersNeverReachUpstream: a client sending the
// identity headers the gateway owns, in every spelling, gets none of them
// to the upstream: on a public route nothing arrives, on a jwt route only
// what the token's claims say.
func TestForgedIdentityHeadersNeverReachUpstream(t *testing.T) {
	addr, heads := authHeadRecorder(t)
	routes := authRoute("public", "/public/*", "") + authRoute("api", "/api/*", "auth")
	g := startGateway(t, oneCluster(addr, hsAuthConfig(t, ""), routes), 1)
	forged := []string{"X-User-ID: admin", "X-User-Role: admin", "X_User_Id: admin", "X-Consumer-ID: x",
		"x-user-email: root@example.com", "X-USER_ROLE: admin", "X_Consumer_Name: acme"}
	tok := hsToken(t, userClaims("alice", "user"))

	cases := []struct {
		name    string
		path    string
		headers []string
		want    []string // identity lines the upstream must see, in order
	}{
		// No middleware: every forged header is dropped.
		{"public route", "/public/x", forged, nil},
		// The token's claims, and nothing the client wrote, whether the
		// forged headers come before or after Authorization.
		{"jwt route, forged after the token", "/api/x", append([]string{"Authorization: Bearer " + tok}, forged...),
			[]string{"X-User-ID: alice", "X-User-Role: user"}},
		{"jwt route, forged before the token", "/api/x", append(append([]string{}, forged...), "Authorization: Bearer "+tok),
			[]string{"X-User-ID: alice", "X-User-Role: user"}},
	}
	rc := dialRaw(t, g.addr)
	for _, tc := range cases {
		resp, body := rc.authGet(tc.path, tc.headers...)
		if resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("%s: %d %q", tc.name, resp.StatusCode, body)
		}
		head := <-heads
		if got := authIdentityLines(head); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: upstream identity headers %q, want %q\nhead: %q", tc.name, got, tc.want, head)
		}
	}
}
