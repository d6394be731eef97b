// Package validate is the `type: validate` middleware: it checks a request
// before it goes upstream (required headers, a content-type allow-list, a
// body limit, a JSON Schema for the body) and answers what fails with the
// gateway's JSON error, naming what failed.
//
//	middleware:
//	  orders_in: {type: validate, required_headers: [X-Request-ID], content_types: [application/json],
//	              max_body: 64KiB, json_schema: schemas/order.json}
//
// The head is checked in Request; the body in RequestBody
// (filter.RequestBodyFilter), which the gateway calls once the body is read
// whole, before an upstream connection is taken. The body goes upstream as
// the client sent it.
package validate

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
	"github.com/sluicehq/sluice/http1"
)

func init() {
	filter.Register(filter.Type{Name: "validate", Decode: decode, Build: build})
}

// The messages of the JSON errors, constants so they label
// sluice_middleware_rejections_total; RejectDetail adds what varies.
const (
	msgNoBody       = "request body required"
	msgMediaType    = "unsupported media type"
	msgTooLarge     = "request body too large"
	msgNotJSON      = "body is not JSON"
	msgSchema       = "body does not match schema"
	missingHeaderOf = "missing required header "
)

// Filter is a built validate instance. It is immutable (the compiled
// schema included: the library validates without writing to it), so every
// loop may use it at once.
type Filter struct {
	required    []string // header names
	missing     []string // their 400 messages, built once
	types       []string // allowed media types, lower case; "t/*" for a top-level type
	limit       int64    // the most body accepted; 0: none of its own
	requireBody bool
	schema      *jsonschema.Schema // nil: the body is not checked
}

var (
	_ filter.RequestBodyFilter = (*Filter)(nil)
	_ filter.Reusable          = (*Settings)(nil)
)

func build(m *config.Middleware) (filter.Filter, error) {
	s, ok := m.Settings.(*Settings)
	if !ok {
		return nil, fmt.Errorf("validate: settings were not decoded (got %T)", m.Settings)
	}
	f := &Filter{
		required:    s.RequiredHeaders,
		types:       s.ContentTypes,
		limit:       s.bodyLimit(),
		requireBody: s.RequireBody,
	}
	for _, h := range s.RequiredHeaders {
		f.missing = append(f.missing, missingHeaderOf+h)
	}
	if s.JSONSchema != "" {
		path := s.JSONSchema
		if !filepath.IsAbs(path) && s.Dir != "" {
			path = filepath.Join(s.Dir, path) // as filter.Inputs.File resolves it
		}
		sch, err := loadSchema(path, s.AssertFormat)
		if err != nil {
			return nil, m.Errorf("json_schema", "%v", err)
		}
		f.schema = sch
	}
	return f, nil
}

// Gate marks the filter as one that refuses requests (a request that fails its checks is refused).
func (*Filter) Gate() {}

// Request checks the head: required headers (400), then, for a request
// with a body, its media type (415) and its Content-Length (413); then
// asks for the body when it has a schema to check or a chunked body to
// count. Any loop; no allocation unless it rejects.
func (f *Filter) Request(x *filter.Exchange) filter.Verdict {
	req := x.Req
	for i, h := range f.required {
		if len(req.Header(h)) == 0 {
			return x.Reject(400, f.missing[i])
		}
	}
	if !req.Chunked && req.ContentLength <= 0 {
		if f.requireBody {
			return x.Reject(400, msgNoBody)
		}
		return filter.Continue // nothing to describe or to check
	}
	if len(f.types) > 0 {
		if v, ok := f.mediaTypeAllowed(req); !ok {
			if v == nil {
				v = []byte("none given")
			}
			return x.RejectDetail(415, msgMediaType, v)
		}
	}
	if f.limit > 0 && req.ContentLength > f.limit {
		return x.Reject(413, msgTooLarge) // before a byte of the body is read
	}
	if f.schema != nil || (req.Chunked && f.limit > 0) {
		x.BufferBody(f.limit) // the engine counts a chunked body against it
	}
	return filter.Continue
}

// mediaTypeAllowed reports whether every Content-Type field of req names
// an allowed media type (a request with two must have both allowed: an
// upstream may read either); if not, the first value refused, nil when
// there is none.
func (f *Filter) mediaTypeAllowed(req *http1.Request) (refused []byte, ok bool) {
	seen := false
	for i := range req.Headers {
		h := &req.Headers[i]
		if !http1.EqualFold(h.Name, "Content-Type") {
			continue
		}
		seen = true
		if !f.allowed(mediaType(h.Value)) {
			return h.Value, false
		}
	}
	return nil, seen
}

// allowed reports whether the media type mt (without parameters) is in the
// allow-list, case-insensitively.
func (f *Filter) allowed(mt []byte) bool {
	slash := bytes.IndexByte(mt, '/')
	if slash <= 0 {
		return false
	}
	for _, t := range f.types {
		if t == "*/*" || http1.EqualFold(mt, t) {
			return true
		}
		if len(t) == slash+2 && t[slash+1] == '*' && http1.EqualFold(mt[:slash+1], t[:slash+1]) {
			return true // "text/*"
		}
	}
	return false
}

// mediaType is the type/subtype of a Content-Type value: before any ';'
// parameters, without surrounding whitespace.
func mediaType(v []byte) []byte {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return bytes.TrimSpace(v)
}
