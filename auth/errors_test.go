package auth

import (
	"errors"
	"fmt"
	"testing"
)

// TestReason: every verification sentinel, wrapped as Verify wraps it,
// has its own label; anything else is "other".
func TestReason(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range reasons {
		err := fmt.Errorf("%w: detail", r.err)
		if got := Reason(err); got != r.name {
			t.Errorf("Reason(%v) = %q, want %q", err, got, r.name)
		}
		if seen[r.name] {
			t.Errorf("label %q used twice", r.name)
		}
		seen[r.name] = true
	}
	if got := Reason(errors.New("something else")); got != "other" {
		t.Errorf("unknown error: %q", got)
	}
	// An error wrapping two sentinels gets one label: the first in
	// reasons' order, so the metric's label set stays fixed.
	if got := Reason(fmt.Errorf("%w: %w", ErrExpired, ErrMalformed)); got != "expired" {
		t.Errorf("joined: %q", got)
	}
}
