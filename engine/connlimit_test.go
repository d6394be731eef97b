package engine

import "testing"

// TestDescriptorCap: the global connection cap never exceeds what the
// descriptor limit carries with an upstream connection per client, since
// gnet stops the whole engine when accept meets EMFILE.
func TestDescriptorCap(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   int
	}{
		{1024, 16}, // tiny limits still admit a few
		{20000, (20000 - fdReserve) / 2},
		{1 << 20, (1<<20 - fdReserve) / 2},
		{1 << 62, (1<<30 - fdReserve) / 2}, // "unlimited" stays an int
	} {
		if got := connCapFor(tc.nofile); got != tc.want {
			t.Errorf("connCapFor(%d) = %d, want %d", tc.nofile, got, tc.want)
		}
	}
	for _, tc := range []struct{ configured, fdCap, want int }{
		{0, 9000, 9000},     // no configured cap: the descriptor cap
		{100, 9000, 100},    // a lower configured cap wins
		{50000, 9000, 9000}, // a configured cap the descriptors cannot carry
		{100, 0, 100},       // descriptor limit unknown
		{0, 0, 0},
	} {
		if got := effectiveMax(tc.configured, tc.fdCap); got != tc.want {
			t.Errorf("effectiveMax(%d, %d) = %d, want %d", tc.configured, tc.fdCap, got, tc.want)
		}
	}
	if fdConnectionCap() <= 0 {
		t.Errorf("no descriptor cap on this machine")
	}
}
