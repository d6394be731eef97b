package apikey

import "github.com/sluicehq/sluice/filter"

// ReloadInputs implements filter.Reusable: an unchanged api_key instance
// is carried over a reload unless its consumers file changed.
func (s *Settings) ReloadInputs(in *filter.Inputs) {
	if s.ConsumersFile != "" {
		in.File(s.Dir, s.ConsumersFile)
	}
}
