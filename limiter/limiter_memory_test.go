package limiter

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

func TestTableSize(t *testing.T) {
	if got := unsafe.Sizeof(set{}); got != sizeofSet || sizeofSet != ways*BytesPerKey {
		t.Fatalf("a set takes %d bytes, want %d = %d slots × %d", got, sizeofSet, ways, BytesPerKey)
	}
	cases := []struct {
		maxKeys, capacity int
	}{
		{0, DefaultMaxKeys}, // default: 1 MiB
		{1, 8},              // rounded up to one set
		{8, 8},
		{9, 16},
		{1_000_000, 1_000_000},
		{1_000_001, 1_000_008},
	}
	for _, tc := range cases {
		l := mustNew(t, Config{Rate: 1, Per: time.Second, MaxKeys: tc.maxKeys})
		if l.Capacity() != tc.capacity || l.Bytes() != tc.capacity*BytesPerKey {
			t.Errorf("MaxKeys %d: capacity %d, %d bytes; want %d, %d bytes",
				tc.maxKeys, l.Capacity(), l.Bytes(), tc.capacity, tc.capacity*BytesPerKey)
		}
	}
	if l := mustNew(t, Config{Rate: 1, Per: time.Second}); l.Bytes() != 1<<20 {
		t.Errorf("default table takes %d bytes, want 1 MiB", l.Bytes())
	}
}

// resident counts the slots that hold a key.
func resident(l *Limiter) int {
	n := 0
	for i := range l.sets {
		for w := range ways {
			if l.sets[i].keys[w].Load() != 0 {
				n++
			}
		}
	}
	return n
}

// TestMillionDistinctKeysBoundedMemory is the key-cardinality attack: a
// million made-up keys must neither grow the heap nor the table.
func TestMillionDistinctKeysBoundedMemory(t *testing.T) {
	l := mustNew(t, Config{Rate: 10, Per: time.Second, MaxKeys: 65536})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	now := t0
	for k := uint64(1); k <= 1_000_000; k++ {
		now += 100 // 10 million new keys per second
		l.Allow(k*0x9e3779b97f4a7c15, now)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Generous margin: the test harness and runtime may allocate a little,
	// but nothing near one more byte per key (1 MB) or the table (1 MiB).
	const margin = 256 << 10
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > margin {
		t.Errorf("heap grew by %d bytes over 1,000,000 keys (table: %d bytes)", grown, l.Bytes())
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > margin {
		t.Errorf("%d bytes allocated over 1,000,000 keys", allocated)
	}
	if n := resident(l); n != l.Capacity() {
		t.Errorf("%d keys resident, want the table full at %d", n, l.Capacity())
	}
}
