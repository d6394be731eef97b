package main

import (
	"io"
	"testing"

	"github.com/sluicehq/sluice/config"
)

// TestMaxConnsFlag: -max-conns overrides limits.max_connections only when
// given, and refuses a negative or non-numeric count.
func TestMaxConnsFlag(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		file    int // limits.max_connections in the file
		want    int
		wantErr bool
	}{
		{"absent: the file wins", nil, 500, 500, false},
		{"given: the flag wins", []string{"-max-conns", "50"}, 500, 50, false},
		{"0 turns the file's cap off", []string{"-max-conns", "0"}, 500, 0, false},
		{"negative refused", []string{"-max-conns", "-1"}, 0, 0, true},
		{"not a number refused", []string{"-max-conns", "lots"}, 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, f := newFlags(io.Discard)
			err := fs.Parse(tc.args)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parse: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			f.record(fs)
			cfg := config.Default()
			cfg.Limits.MaxConnections = tc.file
			f.apply(cfg)
			if cfg.Limits.MaxConnections != tc.want {
				t.Errorf("max_connections %d, want %d", cfg.Limits.MaxConnections, tc.want)
			}
		})
	}
}
