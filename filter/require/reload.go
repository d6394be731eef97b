package require

import "github.com/sluicehq/sluice/filter"

// ReloadInputs implements filter.Reusable: an unchanged require instance
// is carried over a reload. Build reads nothing but the settings.
func (*Settings) ReloadInputs(*filter.Inputs) {}
