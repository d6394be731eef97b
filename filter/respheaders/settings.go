package respheaders

import (
	"errors"

	"github.com/sluicehq/sluice/config"
	"github.com/sluicehq/sluice/filter"
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
	errs = append(errs, filter.CheckResponseEdits(m, filter.ResponseEditKeys{Set: "set", Add: "add", Remove: "remove"}, s.Set, s.Add, s.Remove)...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.Settings = s
	return nil
}

// errSettings is returned by Build for a middleware whose Settings are not
// a *Settings (it was not decoded by this package).
var errSettings = errors.New("response_headers: settings were not decoded")
