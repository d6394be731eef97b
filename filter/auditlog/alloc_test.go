//go:build !race

// The race detector allocates on its own, so allocation counts only mean
// something without it.

package auditlog

import (
	"testing"
)

func TestAuditLogFinishDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	f := buildFromYAML(t, dir, "  audit: {type: audit_log, path: audit.log}\n")
	defer f.Close()
	x := exchange()
	x.Path = []byte("/api/admin/\"quoted\"/\x01\xff/ünï")
	// Until every queue slot has been used once and has its buffer.
	for n := 0; n < 2*4096; {
		d := f.Dropped()
		if f.Finish(x); f.Dropped() == d {
			n++
		}
	}
	if n := testing.AllocsPerRun(1000, func() { f.Finish(x) }); n != 0 {
		t.Errorf("Finish allocates %.2f times per request", n)
	}
}
