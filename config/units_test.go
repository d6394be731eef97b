package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		err  string // fragment; "" means success
	}{
		{"250ms", 250 * time.Millisecond, ""},
		{"30s", 30 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{" 2h ", 2 * time.Hour, ""},
		{"0s", 0, ""},
		{"30", 0, "has no unit"}, // ambiguous: seconds or milliseconds?
		{"0", 0, "has no unit"},  // consistent with every other bare number
		{"1.5", 0, "has no unit"},
		{"-1s", 0, "negative"},
		{"", 0, "empty duration"},
		{"10 seconds", 0, "invalid duration"},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if tc.err == "" && (err != nil || got.D() != tc.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseDuration(%q) error = %v; want …%s…", tc.in, err, tc.err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	cases := []struct {
		in   string
		want ByteSize
		err  string
	}{
		{"512", 512, ""}, // plain number: bytes
		{"512B", 512, ""},
		{"64KiB", 64 << 10, ""},
		{"10MiB", 10 << 20, ""},
		{"1GiB", 1 << 30, ""},
		{"2TiB", 2 << 40, ""},
		{"64KB", 64000, ""}, // decimal units are powers of 1000
		{"10MB", 10e6, ""},
		{"1GB", 1e9, ""},
		{"64 KiB", 64 << 10, ""},
		{"0", 0, ""},
		{"64kb", 0, "invalid size unit"}, // bits or bytes? refuse to guess
		{"64K", 0, "invalid size unit"},
		{"1.5MiB", 0, "invalid size unit"},
		{"-1", 0, "negative"},
		{"KiB", 0, "invalid size"},
		{"", 0, "invalid size"},
		{"99999999999TiB", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
	}
	for _, tc := range cases {
		got, err := ParseByteSize(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseByteSize(%q) error = %v; want …%s…", tc.in, err, tc.err)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for in, want := range map[ByteSize]string{0: "0B", 512: "512B", 64 * KiB: "64KiB", 10 * MiB: "10MiB", GiB: "1GiB", 2000: "2KB", 1500: "1500B", 1 << 40: "1TiB"} {
		if got := in.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int64(in), got, want)
		}
		// String round-trips through ParseByteSize.
		if back, err := ParseByteSize(in.String()); err != nil || back != in {
			t.Errorf("round trip of %d: %d, %v", int64(in), back, err)
		}
	}
	if (64 * KiB).Int() != 65536 {
		t.Error("Int")
	}
}
