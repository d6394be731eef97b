package ratelimit

import "github.com/sluicehq/sluice/filter"

// ReloadInputs implements filter.Reusable: an unchanged rate_limit
// instance keeps its buckets across reloads, so a SIGHUP does not hand
// every client a fresh budget. Build reads nothing but the settings.
func (*Settings) ReloadInputs(*filter.Inputs) {}
