package validate

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// MaxBodyCap is the largest max_body: the body is held in the client's
// input buffer while it is checked, and a connection's buffer is bounded
// (the engine closes one past 8MiB), so a body and its chunk framing must
// fit well under that.
const MaxBodyCap = 4 * config.MiB

// DefaultSchemaBody bounds the body read for json_schema when max_body is
// not set.
const DefaultSchemaBody = config.MiB

// Settings is a decoded `type: validate` instance, stored by Decode in
// config.Middleware.Settings.
type Settings struct {
	// RequiredHeaders (yaml `required_headers`): headers every request must
	// carry with a non-empty value; a missing one is answered 400 naming
	// it. Empty: none.
	RequiredHeaders []string `yaml:"required_headers"`
	// ContentTypes (yaml `content_types`): the media types a request with a
	// body may declare ("application/json", or "text/*" for a whole top
	// level type), compared case-insensitively without parameters; any
	// other, or none, is answered 415. A request without a body is not
	// checked. Empty: any.
	ContentTypes []string `yaml:"content_types"`
	// MaxBody (yaml `max_body`): the largest body, 413 past it (by
	// Content-Length before any of it is read, by counting a chunked body).
	// 0: no limit of this instance (limits.max_body_bytes still applies),
	// except that json_schema reads at most DefaultSchemaBody. At most
	// MaxBodyCap.
	MaxBody config.ByteSize `yaml:"max_body"`
	// JSONSchema (yaml `json_schema`): a JSON Schema file (relative to the
	// config file) the body must match; 400 naming the failing field's
	// JSON pointer and the rule. Read and compiled when the filter is
	// built; it must be self-contained ($ref within the file only). "":
	// the body is not checked.
	JSONSchema string `yaml:"json_schema"`
	// AssertFormat (yaml `assert_format`): also enforce the schema's
	// "format" keywords (email, date-time, uuid, ...), which JSON Schema
	// 2019-09 and later treat as annotations only. Default false.
	AssertFormat bool `yaml:"assert_format"`
	// RequireBody (yaml `require_body`): a request without a body (no
	// Transfer-Encoding, no or a zero Content-Length) is answered 400.
	// Default false: body-less requests (a GET on the same route) pass
	// unchecked.
	RequireBody bool `yaml:"require_body"`

	// Dir is the config file's directory, for JSONSchema.
	Dir string `yaml:"-"`
}

// decode is the config.MiddlewareDecoder of `type: validate`.
func decode(m *config.Middleware) error {
	s := &Settings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	for _, h := range s.RequiredHeaders {
		if !http1.IsFieldName(h) {
			errs = append(errs, m.Errorf("required_headers", "%q is not a valid header name", h))
		}
	}
	for i, ct := range s.ContentTypes {
		mt, ok := parseAllowed(ct)
		if !ok {
			errs = append(errs, m.Errorf("content_types", "%q is not a media type (type/subtype or type/*, no parameters)", ct))
		}
		s.ContentTypes[i] = mt
	}
	if s.MaxBody > MaxBodyCap { // negative sizes are refused by the decoder
		errs = append(errs, m.Errorf("max_body", "%s is past the largest body checked, %s (bodies are held in memory while they are checked; limits.max_body_bytes bounds larger uploads)", s.MaxBody, config.ByteSize(MaxBodyCap)))
	}
	if s.AssertFormat && s.JSONSchema == "" {
		errs = append(errs, m.Errorf("assert_format", "needs json_schema"))
	}
	if len(s.RequiredHeaders) == 0 && len(s.ContentTypes) == 0 && s.MaxBody == 0 && s.JSONSchema == "" && !s.RequireBody {
		errs = append(errs, errors.New("nothing to check: set required_headers, content_types, max_body, json_schema or require_body"))
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

// parseAllowed checks an allowed media type and returns it in lower case.
func parseAllowed(s string) (string, bool) {
	typ, sub, ok := strings.Cut(strings.ToLower(s), "/")
	if !ok || !http1.IsFieldName(typ) || !http1.IsFieldName(sub) || (typ == "*" && sub != "*") {
		return s, false
	}
	return typ + "/" + sub, true
}

// bodyLimit is the most body the instance reads: max_body, or for a schema
// without one DefaultSchemaBody; 0 when it reads none.
func (s *Settings) bodyLimit() int64 {
	switch {
	case s.MaxBody > 0:
		return int64(s.MaxBody)
	case s.JSONSchema != "":
		return int64(DefaultSchemaBody)
	}
	return 0
}
