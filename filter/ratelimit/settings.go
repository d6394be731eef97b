package ratelimit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
	"github.com/sluicehq/sluice/limiter"
)

// Kind is what a rate_limit instance counts requests by.
type Kind uint8

const (
	// KindIP counts by client address (`key: ip`).
	KindIP Kind = iota
	// KindRoute counts by matched route (`key: route`): one budget per
	// route shared by every client.
	KindRoute
	// KindConsumer counts by API-key consumer (`key: consumer`), falling
	// back to the client address for requests without one.
	KindConsumer
	// KindUser counts by authenticated subject (`key: user`), falling back
	// to the client address for anonymous requests.
	KindUser
	// KindHeader counts by the value of a request header
	// (`key: header:NAME`), falling back to the client address when the
	// header is missing.
	KindHeader
	kinds // number of kinds
)

// Settings is a decoded `type: rate_limit` instance, stored by Decode in
// config.Middleware.Settings.
type Settings struct {
	// Key (yaml `key`): ip | route | consumer | user | header:NAME.
	// Default ip.
	Key string `yaml:"key"`
	// Rate (yaml `rate`): requests admitted per Per. Required, > 0.
	Rate int64 `yaml:"rate"`
	// Per (yaml `per`): the period of Rate. Default 1s.
	Per config.Duration `yaml:"per"`
	// Burst (yaml `burst`): the bucket size, the most requests admitted at
	// once. nil (not written) means Rate.
	Burst *int64 `yaml:"burst"`
	// Headers (yaml `headers`): send RateLimit-* and X-RateLimit-*
	// response headers. Default true. Retry-After on a 429 is always sent.
	Headers bool `yaml:"headers"`
	// MaxKeys (yaml `max_keys`): how many keys are tracked at once, at
	// limiter.BytesPerKey (16) bytes each, allocated up front. Default
	// 65536 (1 MiB).
	MaxKeys int `yaml:"max_keys"`

	// Scope (yaml `scope`): local (default) counts on this instance only;
	// cluster shares the limit with every instance that uses the same
	// top-level redis block and instance name (see package ratesync).
	Scope string `yaml:"scope"`

	// Redis is a copy of the config's redis block for scope cluster, nil
	// otherwise, so a changed block makes the instance differ on reload.
	Redis *config.Redis `yaml:"-"`
	// Kind and Header are Key parsed: Header is NAME for KindHeader.
	Kind   Kind   `yaml:"-"`
	Header string `yaml:"-"`
}

// limiterConfig returns the limiter.Config the settings describe.
func (s *Settings) limiterConfig() limiter.Config {
	c := limiter.Config{Rate: s.Rate, Per: s.Per.D(), MaxKeys: s.MaxKeys}
	if s.Burst != nil {
		c.Burst = *s.Burst
	}
	return c
}

// decode is the config.MiddlewareDecoder of `type: rate_limit`.
func decode(m *config.Middleware) error {
	s := &Settings{Key: "ip", Per: config.Duration(time.Second), Headers: true, MaxKeys: limiter.DefaultMaxKeys, Scope: "local"}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	kind, header, err := parseKey(s.Key)
	if err != nil {
		errs = append(errs, m.Errorf("key", "%v", err))
	}
	s.Kind, s.Header = kind, header
	switch s.Scope {
	case "local":
	case "cluster":
		if m.Redis == nil {
			errs = append(errs, m.Errorf("scope", "scope cluster needs a top-level redis block (redis: {addresses: [\"127.0.0.1:6379\"]})"))
		} else {
			r := *m.Redis
			s.Redis = &r
		}
	default:
		errs = append(errs, m.Errorf("scope", "unknown scope %q; want local or cluster", s.Scope))
	}
	switch {
	case s.Rate <= 0:
		errs = append(errs, m.Errorf("rate", "required: requests per `per`, > 0 (got %d)", s.Rate))
	case s.Per <= 0:
		errs = append(errs, m.Errorf("per", "must be > 0 (got %s)", s.Per))
	case s.Burst != nil && *s.Burst <= 0:
		errs = append(errs, m.Errorf("burst", "must be > 0 (got %d); leave it out for a burst equal to rate", *s.Burst))
	case s.MaxKeys <= 0 || s.MaxKeys > limiter.MaxMaxKeys:
		errs = append(errs, m.Errorf("max_keys", "must be between 1 and %d (got %d); each key takes %d bytes",
			limiter.MaxMaxKeys, s.MaxKeys, limiter.BytesPerKey))
	default:
		var ce *limiter.ConfigError
		if err := s.limiterConfig().Validate(); errors.As(err, &ce) {
			errs = append(errs, m.Errorf(yamlField[ce.Field], "%s", ce.Msg))
		} else if err != nil {
			errs = append(errs, m.Errorf("", "%v", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// yamlField maps limiter.Config fields to their keys here.
var yamlField = map[string]string{"Rate": "rate", "Per": "per", "Burst": "burst", "MaxKeys": "max_keys"}

// simpleKeys are the `key` values without an argument, in Kind order.
var simpleKeys = [...]string{KindIP: "ip", KindRoute: "route", KindConsumer: "consumer", KindUser: "user"}

const keyHelp = "want ip, route, consumer, user or header:NAME"

// parseKey parses a `key` value.
func parseKey(key string) (Kind, string, error) {
	for k, name := range simpleKeys {
		if key == name {
			return Kind(k), "", nil
		}
	}
	prefix, name, hasArg := strings.Cut(key, ":")
	if prefix == "header" && hasArg {
		if name == "" {
			return 0, "", fmt.Errorf("key %q names no header; write header:X-API-Key, for example", key)
		}
		if i := http1.FirstNonToken(name); i >= 0 {
			return 0, "", fmt.Errorf("key %q: %q is not a valid header name (character %q; no spaces after the colon)", key, name, name[i])
		}
		return KindHeader, name, nil
	}
	return 0, "", fmt.Errorf("unknown key %q%s; %s", key, keyHint(key), keyHelp)
}

// keyHint suggests the value a misspelt key probably meant.
func keyHint(key string) string {
	key = strings.TrimSpace(key)
	low := strings.ToLower(key)
	if prefix, _, hasArg := strings.Cut(low, ":"); hasArg && config.EditDistance(prefix, "header") <= 2 {
		_, name, _ := strings.Cut(key, ":")
		return fmt.Sprintf(" (did you mean %q?)", "header:"+strings.TrimSpace(name))
	}
	best, bestD := "", 3
	for _, k := range simpleKeys {
		if d := config.EditDistance(low, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("rate_limit: settings were not decoded")
