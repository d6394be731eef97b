package validate

import "github.com/sluicehq/sluice/filter"

// ReloadInputs implements filter.Reusable: an unchanged validate instance
// is carried over a reload unless its schema file changed. The schema is
// the only file Build reads ($ref outside it is refused), so the
// fingerprint sees everything the compiled schema depends on.
func (s *Settings) ReloadInputs(in *filter.Inputs) {
	if s.JSONSchema != "" {
		in.File(s.Dir, s.JSONSchema)
	}
}
