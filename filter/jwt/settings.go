package jwt

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/auth"
	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// Defaults and bounds of the settings.
const (
	DefaultLeeway = 30 * time.Second
	// MaxLeeway bounds leeway: it absorbs clock skew, and minutes of skew
	// mean broken clocks, not something to paper over.
	MaxLeeway    = 5 * time.Minute
	DefaultCache = 10000
	MaxCache     = 1 << 20
	// HeaderPrefix starts every claims_to_headers header, so the engine's
	// stripping of client-sent X-User-* headers covers them: a client
	// cannot forge one the filter would leave unset.
	HeaderPrefix = "X-User-"
)

// DefaultClaimsToHeaders is claims_to_headers when the key is not written.
var DefaultClaimsToHeaders = map[string]string{"sub": "X-User-ID", "role": "X-User-Role", "email": "X-User-Email"}

// Source is where the filter looks for the token.
type Source uint8

const (
	// SourceHeader: `Authorization: Bearer TOKEN` (token_from: header).
	SourceHeader Source = iota
	// SourceCookie: the cookie Settings.TokenName (token_from: cookie:NAME).
	SourceCookie
	// SourceQuery: the query parameter Settings.TokenName
	// (token_from: query:NAME).
	SourceQuery
)

// Mapping is one claims_to_headers entry.
type Mapping struct {
	Claim, Header string
}

// Settings is a decoded `type: jwt` instance, stored by Decode in
// config.Middleware.Settings. Key sources are read by New, not here.
type Settings struct {
	// Algorithms (yaml `algorithms`): the JWS algs accepted. Required.
	Algorithms []string `yaml:"algorithms"`
	// Exactly one key source: SecretEnv (an environment variable holding
	// the HMAC secret), SecretFile (a file holding it; trailing CR/LF
	// dropped), PublicKeyFile (a PEM public key or certificate) or JWKSURL
	// (a JWK Set URL, refreshed every JWKSRefresh, default 5m). Secrets
	// are never written inline.
	SecretEnv     string          `yaml:"secret_env"`
	SecretFile    string          `yaml:"secret_file"`
	PublicKeyFile string          `yaml:"public_key_file"`
	JWKSURL       string          `yaml:"jwks_url"`
	JWKSRefresh   config.Duration `yaml:"jwks_refresh"`
	// Issuer (yaml `issuer`): required iss. Default "": not checked.
	Issuer string `yaml:"issuer"`
	// Audience (yaml `audience`): a string or a list; aud must contain one
	// of them. Default none: not checked.
	Audience any `yaml:"audience"`
	// Leeway (yaml `leeway`): clock skew allowed on exp/nbf/iat. Default
	// 30s, at most MaxLeeway.
	Leeway *config.Duration `yaml:"leeway"`
	// RequiredClaims (yaml `required_claims`): claims that must be present
	// and not null. exp is always required.
	RequiredClaims []string `yaml:"required_claims"`
	// ClaimsToHeaders (yaml `claims_to_headers`): claim -> upstream header,
	// each header starting with X-User-. Default DefaultClaimsToHeaders;
	// {} sends none.
	ClaimsToHeaders map[string]string `yaml:"claims_to_headers"`
	// KeepAuthorization (yaml `keep_authorization`): forward the
	// Authorization header upstream. Default false: stripped.
	KeepAuthorization bool `yaml:"keep_authorization"`
	// TokenFrom (yaml `token_from`): header | cookie:NAME | query:NAME.
	// Default header.
	TokenFrom string `yaml:"token_from"`
	// Cache (yaml `cache`): verified tokens remembered, 0 = off. Default
	// 10000.
	Cache *int `yaml:"cache"`

	// Parsed forms, filled by Decode.
	Audiences []string      `yaml:"-"`
	Source    Source        `yaml:"-"`
	TokenName string        `yaml:"-"` // cookie or query parameter name
	Headers   []Mapping     `yaml:"-"` // ClaimsToHeaders sorted by header
	LeewayD   time.Duration `yaml:"-"`
	CacheSize int           `yaml:"-"`
	// Dir is the config file's directory: relative key file paths are
	// relative to it.
	Dir string `yaml:"-"`

	// jwksOptions, when set (tests), are the base JWKS options.
	jwksOptions *auth.JWKSOptions
}

// decode is the config.MiddlewareDecoder of `type: jwt`.
func decode(m *config.Middleware) error {
	s := &Settings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	add := func(key, format string, args ...any) { errs = append(errs, m.Errorf(key, format, args...)) }

	// Exactly one key source.
	var sources []string
	for _, kv := range [][2]string{{"secret_env", s.SecretEnv}, {"secret_file", s.SecretFile}, {"public_key_file", s.PublicKeyFile}, {"jwks_url", s.JWKSURL}} {
		if kv[1] != "" {
			sources = append(sources, kv[0])
		}
	}
	hmac := false
	switch len(sources) {
	case 0:
		// A plain error is placed at the instance (Errorf("") would name
		// the path "middleware.a.").
		errs = append(errs, errors.New("no key source: set one of secret_env, secret_file, public_key_file or jwks_url"))
	case 1:
		hmac = sources[0] == "secret_env" || sources[0] == "secret_file"
	default:
		add(sources[1], "only one key source may be set, and %s is set too", sources[0])
	}
	if s.JWKSRefresh != 0 && s.JWKSURL == "" {
		add("jwks_refresh", "only means something with jwks_url")
	}
	if s.JWKSRefresh == 0 {
		s.JWKSRefresh = config.Duration(auth.DefaultJWKSRefresh)
	} else if s.JWKSRefresh.D() < time.Second {
		add("jwks_refresh", "must be at least 1s (got %s)", s.JWKSRefresh)
	}
	if s.JWKSURL != "" {
		if u, err := url.Parse(s.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("jwks_url", "want an absolute http:// or https:// URL")
		}
	}

	// The algorithms, and that they fit the kind of key source.
	if len(s.Algorithms) == 0 {
		add("algorithms", "required: the JWS algorithms to accept, e.g. [RS256] (supported: %s)", strings.Join(auth.Algorithms(), ", "))
	}
	for _, a := range s.Algorithms {
		switch {
		case strings.EqualFold(a, "none"):
			add("algorithms", `"none" (unsigned tokens) is never accepted`)
		case !auth.Supported(a):
			add("algorithms", "unsupported algorithm %q%s (supported: %s)", a, algHint(a), strings.Join(auth.Algorithms(), ", "))
		case len(sources) == 1 && hmac != auth.IsHMAC(a):
			if hmac {
				add("algorithms", "%s needs a public key, but %s holds an HMAC secret (use HS256, HS384 or HS512)", a, sources[0])
			} else {
				add("algorithms", "%s needs an HMAC secret, not %s: mixing them would allow RS/HS key confusion", a, sources[0])
			}
		}
	}

	var err error
	if s.Audiences, err = stringOrList(s.Audience); err != nil {
		add("audience", "%v", err)
	}
	s.LeewayD = DefaultLeeway
	if s.Leeway != nil {
		s.LeewayD = s.Leeway.D()
		if s.LeewayD > MaxLeeway {
			add("leeway", "at most %s (got %s): it absorbs clock skew", MaxLeeway, s.LeewayD)
		}
	}
	for _, c := range s.RequiredClaims {
		if c == "" {
			add("required_claims", "empty claim name")
		}
	}
	s.CacheSize = DefaultCache
	if s.Cache != nil {
		s.CacheSize = *s.Cache
		if s.CacheSize < 0 || s.CacheSize > MaxCache {
			add("cache", "must be between 0 (off) and %d (got %d)", MaxCache, s.CacheSize)
		}
	}
	if s.Source, s.TokenName, err = parseTokenFrom(s.TokenFrom); err != nil {
		add("token_from", "%v", err)
	}
	if s.KeepAuthorization && s.Source != SourceHeader {
		add("keep_authorization", "only means something with token_from: header")
	}
	c2h := s.ClaimsToHeaders
	if c2h == nil {
		c2h = DefaultClaimsToHeaders
	}
	seen := map[string]string{}
	for claim, header := range c2h {
		switch {
		case claim == "":
			add("claims_to_headers", "empty claim name")
		case !http1.IsFieldName(header):
			add("claims_to_headers."+claim, "%q is not a valid header name", header)
		case len(header) <= len(HeaderPrefix) || !strings.EqualFold(header[:len(HeaderPrefix)], HeaderPrefix):
			add("claims_to_headers."+claim, "header %q must start with %s, so clients cannot forge it (the gateway strips X-User-* from every request)", header, HeaderPrefix)
		case seen[strings.ToLower(header)] != "":
			add("claims_to_headers."+claim, "header %q is already fed by claim %q", header, seen[strings.ToLower(header)])
		default:
			seen[strings.ToLower(header)] = claim
			s.Headers = append(s.Headers, Mapping{Claim: claim, Header: header})
		}
	}
	slices.SortFunc(s.Headers, func(a, b Mapping) int { return strings.Compare(a.Header, b.Header) })
	if m.Pos.File != "" {
		s.Dir = filepath.Dir(m.Pos.File)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// stringOrList accepts a YAML string or list of strings.
func stringOrList(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, errors.New("empty string")
		}
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("want non-empty strings, got %v", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or a list of strings, got %v", v)
}

// parseTokenFrom parses token_from.
func parseTokenFrom(v string) (Source, string, error) {
	if v == "" || v == "header" {
		return SourceHeader, "", nil
	}
	kind, name, ok := strings.Cut(v, ":")
	if ok && name != "" && !strings.ContainsAny(name, " \t;,=&") {
		switch kind {
		case "cookie":
			return SourceCookie, name, nil
		case "query":
			return SourceQuery, name, nil
		}
	}
	return 0, "", fmt.Errorf("%q: want header, cookie:NAME or query:NAME", v)
}

// algHint suggests the right spelling of a mis-cased algorithm.
func algHint(a string) string {
	for _, s := range auth.Algorithms() {
		if strings.EqualFold(s, a) {
			return fmt.Sprintf(" (did you mean %q? names are case-sensitive)", s)
		}
	}
	return ""
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("jwt: settings were not decoded")
