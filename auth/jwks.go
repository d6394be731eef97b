package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// JWKS defaults.
const (
	DefaultJWKSRefresh     = 5 * time.Minute
	DefaultJWKSMinInterval = 10 * time.Second
	DefaultJWKSTimeout     = 5 * time.Second
	DefaultJWKSMaxBytes    = 1 << 20
	// maxWaiters bounds the requests parked on one fetch; past it a
	// request with an unknown kid is refused instead of parked.
	maxWaiters = 10000
)

// JWKSOptions tune a JWKS source. Zero values take the defaults.
type JWKSOptions struct {
	// Refresh is the time between scheduled fetches. Default 5m.
	Refresh time.Duration
	// MinInterval is the least time from the end of one fetch (scheduled
	// or not) to an on-demand fetch for an unknown kid, so a flood of
	// random kids costs the identity provider at most one request per
	// MinInterval. It is also the first retry delay after a failed fetch
	// (doubling up to Refresh). Default 10s; at least 1ms.
	MinInterval time.Duration
	// Timeout bounds one fetch, connect to last body byte. Default 5s.
	Timeout time.Duration
	// MaxBytes bounds the JWKS document. Default 1 MiB.
	MaxBytes int64
	// Client makes the requests. Default: a client with Timeout that
	// follows at most 3 redirects, to http(s) URLs only.
	Client *http.Client
	// Logger gets fetch failures and skipped keys. Default: slog.Default()
	// at the time of logging (so a logger installed after start is used).
	Logger *slog.Logger
	// Now is the clock of the rate limit. Default time.Now.
	Now func() time.Time
}

// JWKS is a key source fetched from a JWK Set URL by a background
// goroutine: once at start, every Refresh, and on demand (Await) when a
// token names a kid the set lacks. At most one fetch is in flight; a
// failed fetch keeps the last good set serving. Keys and Await are safe
// from any goroutine and never block on I/O.
type JWKS struct {
	url    string
	logURL string // userinfo redacted
	opt    JWKSOptions
	keys   atomic.Pointer[KeySet]
	loaded atomic.Bool
	count  atomic.Int64

	mu       sync.Mutex
	inFlight bool      // a fetch is running or has been asked for
	lastDone time.Time // end of the last fetch; zero before the first
	waiters  []func()  // resumes to call when the running fetch ends
	closed   bool

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// Owned by the fetch goroutine.
	lastSum  [32]byte
	failures int
}

// NewJWKS starts fetching rawURL (http or https) in the background and
// returns at once; until the first fetch succeeds Keys is an empty set.
// Close stops the goroutine.
func NewJWKS(rawURL string, opt JWKSOptions) (*JWKS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("JWKS URL %q: want an absolute http(s) URL", rawURL)
	}
	if opt.Refresh <= 0 {
		opt.Refresh = DefaultJWKSRefresh
	}
	if opt.MinInterval <= 0 {
		opt.MinInterval = DefaultJWKSMinInterval
	}
	opt.MinInterval = max(opt.MinInterval, time.Millisecond)
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultJWKSTimeout
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultJWKSMaxBytes
	}
	if opt.Client == nil {
		opt.Client = &http.Client{Timeout: opt.Timeout, CheckRedirect: checkRedirect}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	j := &JWKS{
		url:      rawURL,
		logURL:   u.Redacted(),
		opt:      opt,
		inFlight: true, // the first fetch
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	j.keys.Store(NewKeySet())
	j.ctx, j.cancel = context.WithCancel(context.Background())
	go j.run()
	return j, nil
}

func (j *JWKS) logger() *slog.Logger {
	if j.opt.Logger != nil {
		return j.opt.Logger
	}
	return slog.Default()
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("more than 3 redirects")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirect to %s URL", req.URL.Scheme)
	}
	return nil
}

// Keys returns the current key set (empty before the first good fetch).
// Any goroutine.
func (j *JWKS) Keys() *KeySet { return j.keys.Load() }

// Loaded reports whether a fetch has ever succeeded. Any goroutine.
func (j *JWKS) Loaded() bool { return j.loaded.Load() }

// Fetches counts fetch attempts so far. Any goroutine.
func (j *JWKS) Fetches() int64 { return j.count.Load() }

// Await asks to be told when the key set may have changed: if a fetch is
// in flight it joins it; otherwise, unless the last fetch ended less than
// MinInterval ago, it starts one. Joining means calling park and keeping
// the function it returns, which is called exactly once when that fetch
// ends (success, failure, timeout) or the source is closed, from the
// fetch goroutine. Await returns false, without calling park, when no
// fetch is coming: rate-limited, closed, or too many waiters. Any
// goroutine; never blocks on I/O (park runs under a short mutex).
func (j *JWKS) Await(park func() (resume func())) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || len(j.waiters) >= maxWaiters {
		return false
	}
	if !j.inFlight {
		if !j.lastDone.IsZero() && j.opt.Now().Sub(j.lastDone) < j.opt.MinInterval {
			return false
		}
		j.inFlight = true
		select {
		case j.kick <- struct{}{}:
		default:
		}
	}
	j.waiters = append(j.waiters, park())
	return true
}

// Close stops the background goroutine, aborting a fetch in flight, and
// resumes anything still waiting. The last key set keeps serving. Safe to
// call more than once.
func (j *JWKS) Close() error {
	j.cancel()
	<-j.done
	return nil
}

func (j *JWKS) run() {
	defer close(j.done)
	defer j.shut()
	t := time.NewTimer(j.fetch())
	defer t.Stop()
	for {
		select {
		case <-j.ctx.Done():
			return
		case <-t.C:
			j.mu.Lock()
			j.inFlight = true
			j.mu.Unlock()
		case <-j.kick:
			j.mu.Lock()
			pending := j.inFlight
			j.mu.Unlock()
			if !pending { // a scheduled fetch already served it
				continue
			}
			t.Stop()
		}
		t.Reset(j.fetch())
	}
}

// shut marks the source closed and resumes late waiters.
func (j *JWKS) shut() {
	j.mu.Lock()
	j.closed, j.inFlight = true, false
	ws := j.waiters
	j.waiters = nil
	j.mu.Unlock()
	for _, resume := range ws {
		resume()
	}
}

// fetch runs one fetch, resumes its waiters and returns the delay to the
// next scheduled one.
func (j *JWKS) fetch() (next time.Duration) {
	defer func() {
		j.mu.Lock()
		j.inFlight = false
		j.lastDone = j.opt.Now()
		ws := j.waiters
		j.waiters = nil
		j.mu.Unlock()
		for _, resume := range ws {
			resume()
		}
	}()
	j.count.Add(1)
	if err := j.get(); err != nil {
		j.failures++
		if j.ctx.Err() == nil {
			j.logger().Warn("JWKS fetch failed; the last good key set keeps serving",
				"url", j.logURL, "err", err, "keys", j.Keys().Len())
		}
		return min(j.opt.Refresh, j.opt.MinInterval<<min(j.failures-1, 16))
	}
	j.failures = 0
	return j.opt.Refresh
}

// get fetches and parses the document, swapping the key set when it
// changed.
func (j *JWKS) get() error {
	ctx, cancel := context.WithTimeout(j.ctx, j.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.opt.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, j.opt.MaxBytes+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > j.opt.MaxBytes {
		return fmt.Errorf("document larger than %d bytes", j.opt.MaxBytes)
	}
	sum := sha256.Sum256(body)
	if j.loaded.Load() && sum == j.lastSum {
		return nil // unchanged: keep the set, and its generation
	}
	set, skipped, err := ParseJWKS(body, JWKOptions{})
	for _, s := range skipped {
		j.logger().Warn("JWKS key skipped", "url", j.logURL, "err", s)
	}
	if err != nil {
		return err
	}
	j.keys.Store(set)
	j.lastSum = sum
	j.loaded.Store(true)
	return nil
}
