package cors

import (
	"errors"
	"slices"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// Settings is a decoded `type: cors` instance, stored by decode in
// config.Middleware.Settings.
type Settings struct {
	// AllowOrigins (yaml `allow_origins`, required): the origins whose
	// scripts may read responses: exact ("https://app.example.com"),
	// one-label patterns ("https://*.example.com") or "*" alone.
	AllowOrigins []string `yaml:"allow_origins"`
	// AllowMethods (yaml `allow_methods`): methods a preflight may ask for,
	// case-sensitive; "*" alone allows any. The CORS-safelisted GET, HEAD
	// and POST are always allowed, as Fetch has browsers send them without
	// asking. Empty: only those.
	AllowMethods []string `yaml:"allow_methods"`
	// AllowHeaders (yaml `allow_headers`): request headers a preflight may
	// ask for, case-insensitive; "*" alone allows any. Accept,
	// Accept-Language, Content-Language and Content-Type are always
	// allowed. Empty: only those.
	AllowHeaders []string `yaml:"allow_headers"`
	// ExposeHeaders (yaml `expose_headers`): response headers scripts may
	// read beyond the CORS-safelisted ones. Empty: none.
	ExposeHeaders []string `yaml:"expose_headers"`
	// AllowCredentials (yaml `allow_credentials`): let requests made with
	// credentials (cookies, HTTP auth) read the response. false: they
	// cannot.
	AllowCredentials bool `yaml:"allow_credentials"`
	// MaxAge (yaml `max_age`): how long a browser may cache a preflight's
	// answer, in whole seconds. nil: 10m; 0s sends 0 (no caching).
	MaxAge *config.Duration `yaml:"max_age"`
	// AllowPrivateNetwork (yaml `allow_private_network`): answer Chrome's
	// Private Network Access preflights (Access-Control-Request-Private-Network:
	// true) from allowed origins. false: no such answer, so a public page
	// cannot reach a gateway on a private network.
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
}

// defaultMaxAge: long enough that an active page preflights each URL and
// method a few times an hour, short enough that a policy change reaches
// browsers soon. Chromium caps the cache at 2 h, Firefox at 24 h.
const defaultMaxAge = 10 * time.Minute

// decode is the config.MiddlewareDecoder of `type: cors`.
func decode(m *config.Middleware) error {
	s := &Settings{}
	var errs []error
	if err := m.Decode(s); err != nil {
		errs = append(errs, err) // and check what did decode, for a one-pass fix
	}
	if len(s.AllowOrigins) == 0 {
		errs = append(errs, errors.New(`allow_origins is required: the origins whose pages may call this route (or "*")`))
	}
	o, oerrs := compileOrigins(s.AllowOrigins)
	for _, err := range oerrs {
		errs = append(errs, m.Errorf("allow_origins", "%v", err))
	}
	if o.any && s.AllowCredentials {
		errs = append(errs, m.Errorf("allow_credentials", `true with allow_origins "*" would let every site read responses to its visitors' credentialed requests (browsers refuse "*" with credentials for that reason); list the origins instead`))
	}
	for _, m2 := range s.AllowMethods {
		if m2 != "*" && !http1.IsFieldName(m2) { // a method is a token, as a field name is
			errs = append(errs, m.Errorf("allow_methods", "%q is not a method (a token such as PUT)", m2))
		}
	}
	errs = append(errs, checkNames(m, "allow_methods", s.AllowMethods, nil)...)
	errs = append(errs, checkNames(m, "allow_headers", s.AllowHeaders, http1.IsFieldName)...)
	errs = append(errs, checkNames(m, "expose_headers", s.ExposeHeaders, http1.IsFieldName)...)
	if s.AllowCredentials && hasStar(s.ExposeHeaders) {
		errs = append(errs, m.Errorf("expose_headers", `"*" exposes every header only to requests without credentials (Fetch); with allow_credentials name the headers`))
	}
	if s.MaxAge != nil && s.MaxAge.D()%time.Second != 0 {
		errs = append(errs, m.Errorf("max_age", "%s is not whole seconds (Access-Control-Max-Age counts seconds)", s.MaxAge))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// checkNames refuses "*" beside other entries, and, when valid is given,
// entries it does not accept.
func checkNames(m *config.Middleware, key string, list []string, valid func(string) bool) []error {
	var errs []error
	if hasStar(list) && len(list) > 1 {
		errs = append(errs, m.Errorf(key, `"*" allows every one: list it alone`))
	}
	for _, n := range list {
		if n != "*" && valid != nil && !valid(n) {
			errs = append(errs, m.Errorf(key, "%q is not a header name", n))
		}
	}
	return errs
}

func hasStar(list []string) bool { return slices.Contains(list, "*") }

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("cors: settings were not decoded")
