package limiter

import (
	"errors"
	"fmt"
	"time"
)

// Defaults and bounds of Config.
const (
	// DefaultMaxKeys is the table size used when Config.MaxKeys is 0
	// (1 MiB of buckets).
	DefaultMaxKeys = 65536
	// MaxMaxKeys bounds Config.MaxKeys (256 MiB of buckets), so a typo
	// cannot make the gateway allocate gigabytes.
	MaxMaxKeys = 1 << 24
	// BytesPerKey is the memory one bucket takes in the table.
	BytesPerKey = 16
	// MinInterval is the shortest time one token may take to come back:
	// 1,000,000 requests per second per key. Below it the nanosecond
	// rounding of the interval would cost more than 0.1% of the rate.
	MinInterval = time.Microsecond
	// MaxWindow bounds Burst × interval, the time an empty bucket takes to
	// fill (about 417 days), so bucket states stay far inside the 59-bit
	// wrap-around range.
	MaxWindow = time.Duration(1 << 55)
)

// ErrConfig is wrapped by every error Config.Validate and New return.
var ErrConfig = errors.New("invalid limiter config")

// ConfigError is the error Validate returns: which field of Config is at
// fault and why. It wraps ErrConfig.
type ConfigError struct {
	Field string // "Rate", "Per", "Burst" or "MaxKeys"
	Msg   string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Config describes one limiter: every key gets a bucket of Burst tokens
// that refills at Rate tokens per Per.
type Config struct {
	// Rate is the number of tokens added per Per. Required, > 0.
	Rate int64
	// Per is the period Rate refers to. Required, > 0.
	Per time.Duration
	// Burst is the bucket's size: the most requests admitted at once after
	// a quiet spell. 0 means Rate.
	Burst int64
	// MaxKeys caps the number of buckets kept at once (see BytesPerKey);
	// the table is allocated up front with room for MaxKeys rounded up to a
	// multiple of 8. 0 means DefaultMaxKeys.
	MaxKeys int
}

// withDefaults returns c with zero fields defaulted.
func (c Config) withDefaults() Config {
	if c.Burst == 0 {
		c.Burst = c.Rate
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	return c
}

// Interval returns the time one token takes to come back (Per / Rate,
// rounded up to a whole nanosecond), or 0 if Rate or Per is not positive.
func (c Config) Interval() time.Duration {
	if c.Rate <= 0 || c.Per <= 0 {
		return 0
	}
	return (c.Per + time.Duration(c.Rate) - 1) / time.Duration(c.Rate)
}

// Validate reports whether New would accept c, after defaults. A non-nil
// error is a *ConfigError.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Rate <= 0:
		return configErr("Rate", "must be > 0, got %d", c.Rate)
	case c.Per <= 0:
		return configErr("Per", "must be > 0, got %s", c.Per)
	case c.Per/time.Duration(c.Rate) < MinInterval:
		return configErr("Rate", "%d per %s is more than one per %s per key; use a larger per", c.Rate, c.Per, MinInterval)
	case c.Burst < 0:
		return configErr("Burst", "must be > 0, got %d", c.Burst)
	case c.Burst > int64(MaxWindow/c.Interval()):
		return configErr("Burst", "%d tokens at one per %s take longer than %s to refill",
			c.Burst, c.Interval(), MaxWindow.Round(time.Hour))
	case c.MaxKeys < 0 || c.MaxKeys > MaxMaxKeys:
		return configErr("MaxKeys", "must be between 1 and %d, got %d", MaxMaxKeys, c.MaxKeys)
	}
	return nil
}
