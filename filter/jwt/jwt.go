// Package jwt is the `type: jwt` middleware: it authenticates requests by a
// JSON Web Token and hands its identity to the filters after it and to the
// upstream.
//
//	middleware:
//	  auth:
//	    type: jwt
//	    algorithms: [RS256]
//	    jwks_url: https://id.example.com/.well-known/jwks.json
//	    issuer: https://id.example.com
//	    audience: api
//
// The token comes from `Authorization: Bearer` (or a cookie or query
// parameter, token_from) and is verified by package auth: signature with
// an allowed algorithm and a key of the right type, then exp (always
// required), nbf and iat with the leeway, iss, aud and required_claims.
//
// Failures answer 401 with one of three messages, and a WWW-Authenticate
// challenge per RFC 6750 §3:
//
//	no token                 {"error":"Authentication required"}  WWW-Authenticate: Bearer
//	exp passed               {"error":"Token expired"}            WWW-Authenticate: Bearer error="invalid_token"
//	anything else            {"error":"Invalid token"}            WWW-Authenticate: Bearer error="invalid_token"
//
// A request without any token gets the bare challenge: RFC 6750 §3.1 says
// such a request SHOULD NOT get an error code. A second Authorization
// header makes the request ambiguous: Invalid token.
//
// On success x.Subject is the sub claim, x.Claims the claims (numbers as
// json.Number), and the claims_to_headers claims go upstream as headers
// (default sub, role, email -> X-User-ID, X-User-Role, X-User-Email; absent
// or null claims send no header). Values render as text: numbers in plain
// decimal, arrays joined with ",", objects as JSON. A mapped claim whose
// text holds a control byte (CR, LF, NUL, TAB, DEL, ...) makes the token
// invalid: the filter refuses it rather than forwarding a request without
// the identity header the upstream relies on. The Authorization header is
// stripped upstream unless keep_authorization (a cookie or query token is
// forwarded as is: the filter does not rewrite cookies or URLs).
//
// With jwks_url, a token naming a kid the key set lacks parks the request
// while the set is fetched again (at most one fetch in flight, and at most
// one per 10s; see auth.JWKS), and so does any request before the first
// fetch has finished. If the kid is still unknown after that fetch, the
// token is invalid: a request parks at most once, because the rate limit
// refuses a second fetch right after the first.
//
// Verified tokens are cached (cache entries, default 10000; see
// auth.Cache) with their identity and rendered headers until exp or until
// the key set changes, so a hot token costs a hash and a compare, no
// signature check and no allocation.
package jwt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func init() {
	filter.Register(filter.Type{Name: "jwt", Decode: decode, Build: build})
}

// WWW-Authenticate challenges (RFC 6750 §3).
var (
	challengeBare    = []byte("Bearer")
	challengeInvalid = []byte(`Bearer error="invalid_token"`)
)

// Filter is a built jwt instance. It is immutable apart from its cache and
// key source, which are safe for concurrent use, so every loop may use it
// at once.
type Filter struct {
	v         *auth.Verifier
	jwks      *auth.JWKS // nil for static keys
	cache     *auth.Cache[*identity]
	headers   []Mapping
	source    Source
	name      string // cookie or query parameter
	stripAuth bool
	// middleware is the instance's name, for the rejection log and metric
	// ("" for a filter built by New outside a config).
	middleware string
	rejects    *rejections
}

// identity is what a verified token gives a request: cached per token, so
// a hit only copies slices and appends the header lines.
type identity struct {
	subject []byte
	claims  map[string]any
	headers []upHeader
}

type upHeader struct {
	name  string
	value []byte
}

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("%w (got %T)", errSettings, m.Settings)
	}
	f, err := New(s)
	if err != nil {
		return nil, err
	}
	f.middleware = m.Name
	f.rejects = newRejections(m.Name)
	return f, nil
}

// New builds a filter from decoded settings: it reads the secret or key
// file, or starts the JWKS source (Close stops it). Errors name the
// setting and never include secret material.
func New(s *Settings) (*Filter, error) {
	keys, jwks, err := loadKeys(s)
	if err != nil {
		return nil, err
	}
	v, err := auth.NewVerifier(auth.Policy{
		Algorithms:     s.Algorithms,
		Issuer:         s.Issuer,
		Audience:       s.Audiences,
		Leeway:         s.LeewayD,
		RequiredClaims: s.RequiredClaims,
	}, keys)
	if err != nil {
		if jwks != nil {
			_ = jwks.Close()
		}
		return nil, err
	}
	return &Filter{
		v:         v,
		jwks:      jwks,
		cache:     auth.NewCache[*identity](s.CacheSize),
		headers:   slices.Clone(s.Headers),
		source:    s.Source,
		name:      s.TokenName,
		stripAuth: s.Source == SourceHeader && !s.KeepAuthorization,
		rejects:   newRejections(""),
	}, nil
}

// loadKeys builds the key source the settings name.
func loadKeys(s *Settings) (auth.KeySource, *auth.JWKS, error) {
	switch {
	case s.SecretEnv != "" || s.SecretFile != "":
		var secret []byte
		if s.SecretEnv != "" {
			v, ok := os.LookupEnv(s.SecretEnv)
			if !ok || v == "" {
				return nil, nil, fmt.Errorf("secret_env: environment variable %s is not set or empty", s.SecretEnv)
			}
			secret = []byte(v)
		} else {
			b, err := os.ReadFile(resolve(s.Dir, s.SecretFile))
			if err != nil {
				return nil, nil, fmt.Errorf("secret_file: %w", err)
			}
			secret = bytes.TrimRight(b, "\r\n")
			defer clear(b)
		}
		key := "secret_env"
		if s.SecretEnv == "" {
			key = "secret_file"
		}
		for _, a := range s.Algorithms {
			if n := auth.MinSecretLen(a); len(secret) < n {
				return nil, nil, fmt.Errorf("%s: the secret is %d bytes; %s needs at least %d (RFC 7518 §3.2)", key, len(secret), a, n)
			}
		}
		return auth.NewStaticKeySet(auth.NewHMACKey(secret)), nil, nil
	case s.PublicKeyFile != "":
		b, err := os.ReadFile(resolve(s.Dir, s.PublicKeyFile))
		if err != nil {
			return nil, nil, fmt.Errorf("public_key_file: %w", err)
		}
		k, err := auth.ParsePublicKeyPEM(b)
		if err != nil {
			return nil, nil, fmt.Errorf("public_key_file %s: %w", s.PublicKeyFile, err)
		}
		for _, a := range s.Algorithms {
			if !k.Fits(a) {
				return nil, nil, fmt.Errorf("public_key_file %s: the key cannot verify %s (algorithms must match the key type)", s.PublicKeyFile, a)
			}
		}
		return auth.NewStaticKeySet(k), nil, nil
	case s.JWKSURL != "":
		opt := auth.JWKSOptions{}
		if s.jwksOptions != nil {
			opt = *s.jwksOptions
		}
		opt.Refresh = s.JWKSRefresh.D()
		j, err := auth.NewJWKS(s.JWKSURL, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("jwks_url: %w", err)
		}
		return j, j, nil
	}
	return nil, nil, errors.New("no key source")
}

// resolve makes a relative path relative to the config file's directory.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// Gate marks the filter as one that refuses requests (a missing or bad token is refused).
func (*Filter) Gate() {}

// Request authenticates the request. Any loop; allocation-free on a cache
// hit.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	tok, st := f.token(x.Req)
	switch st {
	case tokenMissing:
		f.rejected(x, reasonMissing, errMissing)
		x.AddResponseHeader("WWW-Authenticate", challengeBare)
		return x.Reject(401, auth.MsgAuthRequired)
	case tokenAmbiguous:
		f.rejected(x, reasonAmbiguous, errAmbiguous)
		return invalid(x, auth.MsgInvalid)
	}
	now := x.Now
	if now == 0 {
		now = time.Now().UnixNano()
	}
	gen := f.v.Generation()
	id, ok := f.cache.Get(tok, now, gen)
	if !ok {
		t, err := f.v.Verify(tok, now)
		if err != nil {
			// Park while the key set is fetched (again); when resumed,
			// Request runs anew and, if the kid is still unknown, Await
			// is refused by the rate limit and the token is invalid.
			if f.jwks != nil && errors.Is(err, auth.ErrUnknownKey) && f.jwks.Await(func() func() { return x.Park(0, msgKeysLate) }) {
				return filter.Pause
			}
			f.rejected(x, verifyReason(err), err)
			return invalid(x, auth.Message(err))
		}
		if id, err = f.identity(t); err != nil {
			f.rejected(x, verifyReason(err), err)
			return invalid(x, auth.MsgInvalid)
		}
		f.cache.Put(tok, t.Expires, gen, id)
	}
	x.Subject, x.Claims = id.subject, id.claims
	for i := range id.headers {
		x.AddUpstreamHeader(id.headers[i].name, id.headers[i].value)
	}
	if f.stripAuth {
		x.StripUpstream("Authorization")
	}
	return filter.Continue
}

func invalid(x *filter.Exchange, msg string) filter.Verdict {
	x.AddResponseHeader("WWW-Authenticate", challengeInvalid)
	return x.Reject(401, msg)
}

// errUnsafeClaim: a mapped claim renders with a control byte.
var errUnsafeClaim = errors.New("claim value has control characters")

// identity renders what a verified token gives a request.
func (f *Filter) identity(t *auth.Token) (*identity, error) {
	id := &identity{claims: t.Claims}
	if sub, ok := auth.AppendClaim(nil, t.Claims["sub"]); ok {
		id.subject = sub
	}
	for _, h := range f.headers {
		v, ok := auth.AppendClaim(nil, t.Claims[h.Claim])
		if !ok {
			continue
		}
		if !auth.SafeHeaderValue(v) {
			return nil, fmt.Errorf("%w: %s", errUnsafeClaim, h.Claim)
		}
		id.headers = append(id.headers, upHeader{name: h.Header, value: v})
	}
	return id, nil
}

// Close stops the JWKS refresher, if any. Requests still parked on it are
// resumed (and then find the last key set).
func (f *Filter) Close() error {
	if f.jwks != nil {
		return f.jwks.Close()
	}
	return nil
}

// ProvidesClaims implements filter.ClaimsProvider: a jwt filter sets
// Exchange.Claims, so a require filter may follow it.
func (f *Filter) ProvidesClaims() bool { return true }

// msgKeysLate is the 503's message when a request parked for a key set
// fetch is not resumed in time (the engine's default park timeout).
const msgKeysLate = "request could not be authorized in time"

type tokenState uint8

const (
	tokenFound tokenState = iota
	tokenMissing
	tokenAmbiguous // two Authorization headers
)

// token finds the token where the settings say. Any loop; no allocation.
func (f *Filter) token(r *http1.Request) ([]byte, tokenState) {
	if r == nil {
		return nil, tokenMissing
	}
	switch f.source {
	case SourceCookie:
		if v, _ := r.Cookie(f.name); len(v) > 0 {
			return v, tokenFound
		}
		return nil, tokenMissing
	case SourceQuery:
		if v, ok := auth.QueryParam(r.Query, f.name); ok && len(v) > 0 {
			return v, tokenFound
		}
		return nil, tokenMissing
	}
	var tok []byte
	n := 0
	for i := range r.Headers {
		if h := &r.Headers[i]; http1.EqualFold(h.Name, "Authorization") {
			n++
			tok = auth.Bearer(h.Value)
		}
	}
	switch {
	case n > 1:
		return nil, tokenAmbiguous
	case tok == nil:
		return nil, tokenMissing
	}
	return tok, tokenFound
}
