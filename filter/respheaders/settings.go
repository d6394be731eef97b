package respheaders

import (
	"errors"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/http1"
)

// Settings is a decoded `type: response_headers` instance, stored by
// Decode in config.Middleware.Settings.
type Settings struct {
	// Set (yaml `set`): header name -> value; every header of that name
	// the response would carry is replaced by this one line.
	Set map[string]string `yaml:"set"`
	// Add (yaml `add`): header name -> value, added beside any of that
	// name the response already carries.
	Add map[string]string `yaml:"add"`
	// Remove (yaml `remove`): header names dropped from the response.
	Remove []string `yaml:"remove"`
}

// ownHeaders are written by the gateway itself (framing, connection
// management, tracing, the date of its own answers): a config may not set
// or remove them, since the result would be a broken or untraceable
// response.
var ownHeaders = []string{"Content-Length", "Date", "Via", "X-Request-ID"}

// decode is the config.MiddlewareDecoder of `type: response_headers`.
func decode(m *config.Middleware) error {
	s := &Settings{}
	if err := m.Decode(s); err != nil {
		return err
	}
	var errs []error
	if len(s.Set) == 0 && len(s.Add) == 0 && len(s.Remove) == 0 {
		errs = append(errs, errors.New("nothing to do: give set, add or remove"))
	}
	for _, key := range []string{"set", "add"} {
		hs := s.Set
		if key == "add" {
			hs = s.Add
		}
		for _, name := range sortedKeys(hs) {
			if err := checkName(name); err != nil {
				errs = append(errs, m.Errorf(key, "%q: %v", name, err))
			}
			if i := strings.IndexFunc(hs[name], invalidValueRune); i >= 0 {
				errs = append(errs, m.Errorf(key, "%q: value has a control character at byte %d", name, i))
			}
		}
	}
	for _, name := range s.Remove {
		if err := checkName(name); err != nil {
			errs = append(errs, m.Errorf("remove", "%q: %v", name, err))
		}
		for set := range s.Set {
			if strings.EqualFold(set, name) {
				errs = append(errs, m.Errorf("remove", "%q is also in set (set already replaces it)", name))
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// checkName refuses what is not a field name (RFC 9110 §5.1) and the
// headers the gateway owns.
func checkName(name string) error {
	if !http1.IsFieldName(name) {
		return errors.New("not a header name")
	}
	if http1.IsHopByHop([]byte(name)) {
		return errors.New("a hop-by-hop header, the gateway's to write")
	}
	for _, own := range ownHeaders {
		if strings.EqualFold(name, own) {
			return errors.New("written by the gateway itself")
		}
	}
	return nil
}

// invalidValueRune: a field value is visible characters, spaces and tabs
// (RFC 9110 §5.5); CR and LF would split the head.
func invalidValueRune(r rune) bool {
	return (r < 0x20 && r != '\t') || r == 0x7f
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("response_headers: settings were not decoded")
