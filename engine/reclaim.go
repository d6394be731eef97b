package engine

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// After a burst of connections is gone (a slow-reader attack, a traffic spike
// ending), the buffers they held are garbage, but an idle gateway allocates
// nothing, so the collector has no reason to run: Go only forces a GC every
// two minutes. And most of those buffers sit in sync.Pool-backed pools
// (gnet's byte-slice and ring-buffer pools, bytebufferpool), which survive one
// GC in their victim cache before they are freed. Measured on issue 12's
// attack: 1,000 slow readers gone, RSS stayed at 350-520 MB for minutes with
// 3-5 MB of live heap. The reclaimer watches the connection count from a
// background goroutine and, when at least half of a large peak has left,
// collects twice (emptying the pools' victim caches) and hands the free
// pages back to the OS (debug.FreeOSMemory), at most once per reclaimGap.
const (
	reclaimEvery   = time.Second      // how often the connection count is looked at
	reclaimGap     = 30 * time.Second // at most one reclaim per this
	reclaimMinDrop = 64               // connections that must have left since the peak
	reclaimMinHeap = 16 << 20         // heap bytes (objects + free, not yet released) worth a reclaim
)

// reclaimer runs until stop is closed. Any goroutine (its own).
func (e *Engine) reclaimer(stop <-chan struct{}) {
	t := time.NewTicker(reclaimEvery)
	defer t.Stop()
	var last time.Time
	peak := e.clients.Load()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		n := e.clients.Load()
		peak = max(peak, n)
		if peak-n < reclaimMinDrop || n > peak/2 || time.Since(last) < reclaimGap {
			continue
		}
		peak = n
		before := heapHeld()
		if before < reclaimMinHeap {
			continue
		}
		last = time.Now()
		runtime.GC()
		runtime.GC()
		debug.FreeOSMemory()
		e.log.Debug("returned memory to the OS after connections left", "connections", n, "heap_before", before, "heap_after", heapHeld())
	}
}

// heapHeld is the heap memory the process holds: objects (live or not yet
// collected) plus free spans not yet returned to the OS.
func heapHeld() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			n += x.Value.Uint64()
		}
	}
	return n
}
