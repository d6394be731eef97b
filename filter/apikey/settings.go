package apikey

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// DefaultHeader is where the key is looked for when `header` is not set.
const DefaultHeader = "X-API-Key"

// Consumer is one holder of an API key.
type Consumer struct {
	// ID (yaml `id`) names the consumer upstream (X-Consumer-ID) and to
	// later filters (Exchange.Consumer). 1-128 bytes of letters, digits
	// and - . _ ~ : @ + /.
	ID string `yaml:"id"`
	// KeySHA256 (yaml `key_sha256`): the hex SHA-256 of the key, as
	// `sluice hash-key` prints it. The key itself is never configured.
	KeySHA256 string `yaml:"key_sha256"`
}

// Settings is a decoded `type: api_key` instance, stored by Decode in
// config.Middleware.Settings.
type Settings struct {
	// Header (yaml `header`): the request header carrying the key.
	// Default X-API-Key. It is stripped before the request goes upstream.
	Header string `yaml:"header"`
	// Query (yaml `query`): a query parameter that may carry the key when
	// the header is absent (percent-decoded). Default "": header only. The
	// URL goes upstream unchanged, key included.
	Query string `yaml:"query"`
	// Consumers (yaml `consumers`): inline consumers.
	Consumers []Consumer `yaml:"consumers"`
	// ConsumersFile (yaml `consumers_file`): a file of one consumer per
	// line, "ID SHA256HEX", blank lines and lines starting with # ignored;
	// relative to the config file. Read when the filter is built (start and
	// every reload).
	ConsumersFile string `yaml:"consumers_file"`

	// Dir is the config file's directory, for ConsumersFile.
	Dir string `yaml:"-"`
}

// decode is the config.MiddlewareDecoder of `type: api_key`.
func decode(m *config.Middleware) error {
	s := &Settings{Header: DefaultHeader}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	if !http1.IsFieldName(s.Header) {
		errs = append(errs, m.Errorf("header", "%q is not a valid header name", s.Header))
	}
	if s.Query != "" && strings.ContainsAny(s.Query, "&=#? \t") {
		errs = append(errs, m.Errorf("query", "%q is not a usable parameter name", s.Query))
	}
	if len(s.Consumers) == 0 && s.ConsumersFile == "" {
		errs = append(errs, errors.New("no consumers: set consumers, consumers_file or both"))
	}
	ids, hashes := map[string]bool{}, map[string]string{}
	for i, c := range s.Consumers {
		if err := checkConsumer(c, ids, hashes); err != nil {
			errs = append(errs, m.Errorf("consumers", "consumers[%d]: %v", i, err))
		}
	}
	if m.Pos.File != "" {
		s.Dir = filepath.Dir(m.Pos.File)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// checkConsumer validates one consumer and records its ID and hash (the
// hash's owner) to catch duplicates.
func checkConsumer(c Consumer, ids map[string]bool, hashes map[string]string) error {
	if !validID(c.ID) {
		return fmt.Errorf("id %q: want 1-128 letters, digits or - . _ ~ : @ + /", c.ID)
	}
	h := strings.ToLower(c.KeySHA256)
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return fmt.Errorf("consumer %q: key_sha256 must be 64 hex digits (run `sluice hash-key`)", c.ID)
	}
	if ids[c.ID] {
		return fmt.Errorf("consumer %q is listed twice", c.ID)
	}
	if other, dup := hashes[h]; dup {
		return fmt.Errorf("consumer %q has the same key as consumer %q: keys must be unique", c.ID, other)
	}
	ids[c.ID], hashes[h] = true, c.ID
	return nil
}

// fileConsumer is a consumer read from a consumers file, with its line.
type fileConsumer struct {
	Consumer
	line int
}

// parseConsumersFile reads the "ID SHA256HEX" lines of a consumers file.
func parseConsumersFile(data []byte, name string) ([]fileConsumer, error) {
	var out []fileConsumer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"ID SHA256HEX\", got %d fields", name, line, len(f))
		}
		out = append(out, fileConsumer{Consumer{ID: f[0], KeySHA256: f[1]}, line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// validID: consumer IDs go into a header and into logs as they are.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~:@+/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("api_key: settings were not decoded")
