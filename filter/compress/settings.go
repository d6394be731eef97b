package compress

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// Settings is a decoded `type: compress` instance, stored by decode in
// config.Middleware.Settings.
type Settings struct {
	// Encodings (yaml `encodings`): the content codings offered, in order
	// of preference when a client weighs several equally: zstd, br, gzip.
	// Empty: [zstd, br, gzip].
	Encodings []string `yaml:"encodings"`
	// MinSize (yaml `min_size`): a response whose Content-Length is below
	// this is sent as it is (the coding's framing would eat the gain).
	// Absent: 1KiB; 0 compresses every length. A body of unknown length
	// (chunked) is compressed.
	MinSize *config.ByteSize `yaml:"min_size"`
	// ContentTypes (yaml `content_types`): media types compressed, each
	// "type/subtype", "type/*" or "type/*+suffix" (application/*+json).
	// Empty: defaultContentTypes.
	ContentTypes []string `yaml:"content_types"`
	// Level (yaml `level`): the compression level per coding; an absent
	// one takes its default (gzip 5, br 3, zstd 3).
	Level Levels `yaml:"level"`
}

// Levels are the per-coding compression levels; nil means the default.
type Levels struct {
	// Gzip (yaml `gzip`): 1 (fastest) to 9 (smallest). Default 5.
	Gzip *int `yaml:"gzip"`
	// Br (yaml `br`): brotli quality, 0 to 11. Default 3.
	Br *int `yaml:"br"`
	// Zstd (yaml `zstd`): 1 to 22 as zstd numbers them; the encoder has
	// four speeds (1-2 fastest, 3-5 default, 6-9 better, 10+ best). Default 3.
	Zstd *int `yaml:"zstd"`
}

// Default levels, measured on a 64 KiB JSON body (BenchmarkLevels,
// docs/BENCHMARKS.md "compress"): past these, each step costs far more
// CPU than it saves bytes.
const (
	defaultGzip = 5
	defaultBr   = 3
	defaultZstd = 3
	defaultMin  = 1 << 10
)

// defaultContentTypes are the text formats an API gateway serves; images,
// video and archives are compressed already.
var defaultContentTypes = []string{
	"text/*", "application/json", "application/javascript", "application/xml",
	"image/svg+xml", "application/*+json", "application/*+xml",
}

// decode is the config.MiddlewareDecoder of `type: compress`.
func decode(m *config.Middleware) error {
	s := &Settings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	seen := map[coding]bool{}
	for i, name := range s.Encodings {
		c := codingNamed(name)
		switch {
		case c == identity:
			errs = append(errs, m.Errorf("encodings", "%q is not a coding this gateway writes (gzip, br, zstd)", name))
		case seen[c]:
			errs = append(errs, m.Errorf("encodings", "%q is listed twice (item %d)", name, i+1))
		}
		seen[c] = true
	}
	for _, ct := range s.ContentTypes {
		if _, err := parsePattern(ct); err != nil {
			errs = append(errs, m.Errorf("content_types", "%q: %v", ct, err))
		}
	}
	if s.MinSize != nil && *s.MinSize < 0 {
		errs = append(errs, m.Errorf("min_size", "must be 0 or more"))
	}
	for _, l := range []struct {
		key      string
		v        *int
		min, max int
	}{{"level.gzip", s.Level.Gzip, 1, 9}, {"level.br", s.Level.Br, 0, 11}, {"level.zstd", s.Level.Zstd, 1, 22}} {
		if l.v != nil && (*l.v < l.min || *l.v > l.max) {
			errs = append(errs, m.Errorf(l.key, "%d is out of range (%d to %d)", *l.v, l.min, l.max))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// pattern is a compiled content_types entry.
type pattern struct {
	typ, sub string // sub "" matches any subtype
	suffix   string // "+json": any subtype ending so
}

// parsePattern compiles "type/subtype", "type/*" or "type/*+suffix".
func parsePattern(s string) (pattern, error) {
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || !http1.IsToken([]byte(typ)) || typ == "*" {
		return pattern{}, errors.New(`want "type/subtype", "type/*" or "type/*+suffix"`)
	}
	p := pattern{typ: strings.ToLower(typ)}
	switch {
	case sub == "*":
	case strings.HasPrefix(sub, "*+") && http1.IsToken([]byte(sub[2:])):
		p.suffix = strings.ToLower(sub[1:])
	case http1.IsToken([]byte(sub)) && !strings.Contains(sub, "*"):
		p.sub = strings.ToLower(sub)
	default:
		return pattern{}, fmt.Errorf("subtype %q: want a token, * or *+suffix", sub)
	}
	return p, nil
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("compress: settings were not decoded")
