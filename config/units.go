package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time span written in YAML as a Go duration string such as
// "250ms", "30s" or "1m30s". Bare numbers are rejected because their unit
// would be a guess (seconds? milliseconds?). The zero value is 0; each field
// documents its own default.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler so a Config can be printed
// back as YAML (the admin config view).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseDuration's
// rules. (Config fields of type Duration are decoded by the schema
// decoder, which keeps positions; see schema.go.)
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses a Go duration string. Unlike time.ParseDuration it
// rejects a number without a unit (even "0": write "0s") and negative spans,
// because no setting in Sluice means anything by them.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty duration (write e.g. \"30s\" or \"250ms\")")
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return 0, fmt.Errorf("duration %q has no unit (write e.g. \"%ss\" or \"%sms\")", s, t, t)
	}
	v, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use Go syntax: \"250ms\", \"30s\", \"1m30s\")", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return Duration(v), nil
}

// ByteSize is a count of bytes written in YAML with a unit: "512B", "64KiB",
// "10MiB", "1GiB" (powers of 1024) or "KB", "MB", "GB" (powers of 1000). A
// plain integer (512 or "512") means bytes. Negative sizes are rejected. The
// zero value is 0 bytes; each field documents its own default and what 0
// means for it.
type ByteSize int64

// Common sizes, for defaults and tests.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
)

// byteUnits lists every accepted unit suffix. Spelling is exact: "kb" and
// "Kb" are refused rather than guessed (bits or bytes?).
var byteUnits = []struct {
	name string
	mult int64
}{
	{"B", 1},
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
}

// Int returns b as an int, clamped to math.MaxInt (only matters on 32-bit
// platforms, where such sizes cannot be allocated anyway).
func (b ByteSize) Int() int {
	if int64(b) > int64(math.MaxInt) {
		return math.MaxInt
	}
	return int(b)
}

// String formats b with the largest unit that divides it exactly, binary
// units before decimal ones: 65536 -> "64KiB", 2000 -> "2KB", 1500 -> "1500B".
func (b ByteSize) String() string {
	if b != 0 {
		for _, mult := range []int{4, 3, 2, 1, 8, 7, 6, 5} { // TiB..KiB, then TB..KB
			u := byteUnits[mult]
			if int64(b)%u.mult == 0 {
				return strconv.FormatInt(int64(b)/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseByteSize's
// rules.
func (b *ByteSize) UnmarshalText(t []byte) error {
	v, err := ParseByteSize(string(t))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseByteSize parses a size such as "64KiB", "10MB" or "512". The number
// must be a whole, non-negative decimal; one optional space may separate it
// from the unit.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("negative size %q", s)
		}
		return 0, fmt.Errorf("invalid size %q (write e.g. \"64KiB\", \"10MiB\" or a number of bytes)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	mult := int64(1)
	if unit != "" {
		mult = 0
		for _, u := range byteUnits {
			if u.name == unit {
				mult = u.mult
				break
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("invalid size unit %q in %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", unit, s)
		}
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n * mult), nil
}
