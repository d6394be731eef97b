package ratelimit

import "github.com/sluicehq/sluice/filter"

// ReloadInputs implements filter.Reusable: an unchanged rate_limit
// instance keeps its buckets across reloads, so a SIGHUP does not hand
// every client a fresh budget. A cluster-scoped one also keeps its Redis
// connection and syncer while the redis block (part of the settings) and
// the password it reads from the environment are unchanged.
func (s *Settings) ReloadInputs(in *filter.Inputs) {
	if s.Redis != nil && s.Redis.PasswordEnv != "" {
		in.Env(s.Redis.PasswordEnv)
	}
}
