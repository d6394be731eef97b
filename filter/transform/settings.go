package transform

import (
	"errors"

	"github.com/sluicehq/sluice/config"
)

// Settings is a decoded `type: transform` instance, stored by Decode in
// config.Middleware.Settings. Both parts are optional; at least one edit
// must be given.
type Settings struct {
	// Request (yaml `request`): edits to the request sent upstream.
	Request RequestEdits `yaml:"request"`
	// Response (yaml `response`): edits to the response head the client
	// gets, on upstream responses and the gateway's own answers alike.
	Response ResponseEdits `yaml:"response"`
}

// RequestEdits are applied in this order: headers removed, renamed, set,
// added; query parameters likewise (removed, renamed, set, added); the
// path (replace_prefix, then rewrite); the Host. Header and query values
// are templates (template.go). The zero value changes nothing.
type RequestEdits struct {
	// SetHeaders (yaml `set_headers`): name -> template; the client's and
	// earlier filters' headers of that name are replaced by one line, or
	// dropped when the template misses a value.
	SetHeaders map[string]string `yaml:"set_headers"`
	// AddHeaders (yaml `add_headers`): name -> template, added beside any
	// of that name; nothing when the template misses a value.
	AddHeaders map[string]string `yaml:"add_headers"`
	// RemoveHeaders (yaml `remove_headers`): names dropped (the client's
	// and earlier filters').
	RemoveHeaders []string `yaml:"remove_headers"`
	// RenameHeaders (yaml `rename_headers`): old -> new; each client
	// header called old goes upstream called new, with its value.
	RenameHeaders map[string]string `yaml:"rename_headers"`

	// SetQuery (yaml `set_query`): name -> template; the parameters of
	// that name are replaced by one, where the first was (appended when
	// none), or dropped when the template misses a value. At most 64.
	SetQuery map[string]string `yaml:"set_query"`
	// AddQuery (yaml `add_query`): name -> template, appended.
	AddQuery map[string]string `yaml:"add_query"`
	// RemoveQuery (yaml `remove_query`): parameter names dropped.
	RemoveQuery []string `yaml:"remove_query"`
	// RenameQuery (yaml `rename_query`): old -> new, value and place kept.
	RenameQuery map[string]string `yaml:"rename_query"`

	// ReplacePrefix (yaml `replace_prefix`): a whole-segment path prefix
	// replaced by another. Nil: none.
	ReplacePrefix *PrefixRewrite `yaml:"replace_prefix"`
	// Rewrite (yaml `rewrite`): a regexp on the path and its replacement.
	// Nil: none.
	Rewrite *RegexRewrite `yaml:"rewrite"`
	// Host (yaml `host`): the Host header sent upstream, over the target's
	// name and preserve_host. "": unchanged.
	Host string `yaml:"host"`
}

// PrefixRewrite is request.replace_prefix.
type PrefixRewrite struct {
	From string `yaml:"from"` // "/api/v1": must start with '/'
	To   string `yaml:"to"`   // "/v1": must start with '/'
}

// RegexRewrite is request.rewrite.
type RegexRewrite struct {
	Regex string `yaml:"regex"` // Go (RE2) syntax, matched against the path
	To    string `yaml:"to"`    // replacement of the match: $1, ${1}, ${name}, $$
}

// ResponseEdits are response header edits, the rules and code of
// response_headers (filter.ResponseEdits): removed, then set, then added.
// Values are literals.
type ResponseEdits struct {
	SetHeaders    map[string]string `yaml:"set_headers"`    // name -> value, replacing
	AddHeaders    map[string]string `yaml:"add_headers"`    // name -> value, beside
	RemoveHeaders []string          `yaml:"remove_headers"` // names dropped
}

// decode is the config.MiddlewareDecoder of `type: transform`: it checks
// everything Build will compile (templates, the regexp, names, paths), so
// `sluice -check` reports every problem at its file:line:column.
func decode(m *config.Middleware) error {
	s := &Settings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	if _, errs := compile(m, s); len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("transform: settings were not decoded")
