package jwt

import "github.com/sluicehq/sluice/filter"

// ReloadInputs implements filter.Reusable: an unchanged jwt instance keeps
// its verified-token cache and JWKS refresher across reloads. Its static
// key is an input: the secret (from the environment or a file) or the
// public key file, so a rotated key rebuilds the filter. A JWKS instance
// reads nothing at Build: its refresher keeps fetching the URL.
func (s *Settings) ReloadInputs(in *filter.Inputs) {
	switch {
	case s.SecretEnv != "":
		in.Env(s.SecretEnv)
	case s.SecretFile != "":
		in.File(s.Dir, s.SecretFile)
	case s.PublicKeyFile != "":
		in.File(s.Dir, s.PublicKeyFile)
	}
}
