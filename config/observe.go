package config

// AccessLog configures the access log (yaml `access_log:`): one line per
// request, written off the event loops.
type AccessLog struct {
	// Enabled (yaml `enabled`) turns the log on. Default true.
	Enabled bool `yaml:"enabled"`
	// Path (yaml `path`) is the file lines are appended to, relative to the
	// config file's directory; "-" (default) is standard output.
	Path string `yaml:"path"`
	// Format (yaml `format`) is "json" (default, one object per line) or
	// "clf" (Apache combined log format, plus the request ID and the total
	// and upstream durations).
	Format string `yaml:"format"`
	// Sample (yaml `sample`) is the share of requests logged, 0..1.
	// Default 1 (every request). Requests that end in 5xx are always logged.
	Sample float64 `yaml:"sample"`
}

func (k *checker) observe() {
	a := &k.c.AccessLog
	switch a.Format {
	case "json", "clf":
	default:
		k.errf("access_log.format", "unknown format %q; want json or clf", a.Format)
	}
	if a.Sample < 0 || a.Sample > 1 {
		k.errf("access_log.sample", "%v is not a share between 0 and 1", a.Sample)
	}
	if a.Enabled && a.Path == "" {
		k.errf("access_log.path", "required when the log is enabled: a file, or - for standard output")
	}
	switch k.c.RequestID {
	case "trust", "regenerate":
	default:
		k.errf("request_id", "unknown mode %q; want trust or regenerate", k.c.RequestID)
	}
}
