package observe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bigQueue holds every line the tests below write, so nothing can be
// dropped however slow the writer goroutine is scheduled.
var bigQueue = Options{QueueLines: 1 << 16, QueueBytes: 64 << 20}

// within fails the test if f does not return in d: the writer must never
// make its callers (or Close) wait on a stuck sink.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func openTemp(t *testing.T, opts Options) (*LineWriter, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := OpenLineWriter(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w, path
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("file does not end with a newline: %q", data[max(0, len(data)-40):])
	}
	return strings.Split(string(data[:len(data)-1]), "\n")
}

func TestLineWriterOneProducerInOrder(t *testing.T) {
	opts := bigQueue
	opts.BatchBytes = 512 // many batches, and lines that straddle them
	w, path := openTemp(t, opts)
	const n = 5000
	var want []string
	for i := range n {
		line := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%97))
		want = append(want, line)
		if i%2 == 0 {
			line += "\n" // a trailing newline is kept, a missing one added
		}
		if !w.Write([]byte(line)) {
			t.Fatalf("line %d dropped", i)
		}
	}
	// Larger than the batch buffer: written on its own, still in order.
	huge := strings.Repeat("h", 3*opts.BatchBytes)
	want = append(want, huge)
	w.Write([]byte(huge))
	want = append(want, "last")
	w.Write([]byte("last"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, path)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
	if w.Dropped() != 0 || w.Written() != uint64(len(want)) {
		t.Errorf("dropped %d written %d, want 0 and %d", w.Dropped(), w.Written(), len(want))
	}
}

func TestLineWriterConcurrentProducersLoseNothing(t *testing.T) {
	w, path := openTemp(t, bigQueue)
	const producers, each = 8, 2000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			var buf []byte
			for i := range each {
				buf = fmt.Appendf(buf[:0], "p%d %d", p, i)
				if !w.Write(buf) {
					t.Errorf("p%d line %d dropped", p, i)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Every line arrives whole, and each producer's lines keep their order.
	next := make([]int, producers)
	for _, line := range readLines(t, path) {
		var p, i int
		if _, err := fmt.Sscanf(line, "p%d %d", &p, &i); err != nil || p < 0 || p >= producers {
			t.Fatalf("mangled line %q", line)
		}
		if i != next[p] {
			t.Fatalf("producer %d: line %d after %d", p, i, next[p]-1)
		}
		next[p]++
	}
	for p, n := range next {
		if n != each {
			t.Errorf("producer %d: %d lines, want %d", p, n, each)
		}
	}
	if w.Dropped() != 0 || w.Written() != producers*each {
		t.Errorf("dropped %d written %d", w.Dropped(), w.Written())
	}
}

func TestLineWriterBlockedSinkDrops(t *testing.T) {
	// A pipe nobody reads. Phase one queues 200 KB, more than the pipe
	// (64 KiB) and the batch take, so the writer goroutine ends up blocked
	// in write whatever the scheduling; nothing is dropped yet.
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	const queue = 4096
	w := NewLineWriter(pw, Options{QueueLines: queue, BatchBytes: 4096})
	line := []byte(strings.Repeat("z", 99))
	for i := range 2000 {
		if !w.Write(line) {
			t.Fatalf("line %d dropped with the queue not full", i)
		}
	}
	// Phase two: the queue fills and then every Write must fail at once.
	// At most queue + (pipe + batch)/100 of all lines can be taken.
	const more = 100_000
	var refused uint64
	within(t, 10*time.Second, "writes to a blocked sink", func() {
		for range more {
			if !w.Write(line) {
				refused++
			}
		}
	})
	if accepted := 2000 + more - refused; accepted > queue+(64<<10+4096)/100+1 {
		t.Fatalf("%d lines accepted by a blocked sink", accepted)
	}
	if got := w.Dropped(); got != refused {
		t.Errorf("Dropped() = %d, Write returned false %d times", got, refused)
	}
	// Once the reader is gone the writes fail (EPIPE) and Close finishes.
	r.Close()
	var cerr error
	within(t, 10*time.Second, "Close", func() { cerr = w.Close() })
	if cerr == nil || errors.Is(cerr, ErrCloseTimeout) {
		t.Errorf("Close = %v, want the broken pipe", cerr)
	}
	if w.Err() == nil {
		t.Error("Err() = nil after failed writes")
	}
	if w.Dropped()+w.Written() != 2000+more {
		t.Errorf("dropped %d + written %d != %d", w.Dropped(), w.Written(), 2000+more)
	}
}

func TestLineWriterCloseTimeoutClosesFile(t *testing.T) {
	// A FIFO opened through OpenLineWriter, whose reader never reads: Close
	// gives up after CloseTimeout and closes the file, which frees the
	// writer goroutine stuck in write.
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := OpenLineWriter(path, Options{QueueLines: 2048, BatchBytes: 1024, CloseTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("f", 500))
	for i := range 1000 { // 500 KB, beyond the FIFO's 64 KiB
		if !w.Write(line) {
			t.Fatalf("line %d dropped", i)
		}
	}
	var cerr error
	within(t, 10*time.Second, "Close", func() { cerr = w.Close() })
	if !errors.Is(cerr, ErrCloseTimeout) {
		t.Fatalf("Close = %v, want ErrCloseTimeout", cerr)
	}
	within(t, 10*time.Second, "writer goroutine exit", func() { <-w.finished })
}

func TestLineWriterClose(t *testing.T) {
	w, path := openTemp(t, Options{FlushInterval: time.Hour})
	w.Write([]byte("before close"))
	// Close flushes although the flush interval is far away.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); len(got) != 1 || got[0] != "before close" {
		t.Fatalf("file = %q", got)
	}
	// Write after Close drops, and counts.
	if w.Write([]byte("after close")) {
		t.Error("Write after Close = true")
	}
	if w.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", w.Dropped())
	}
	// Idempotent.
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if got := readLines(t, path); len(got) != 1 {
		t.Fatalf("file after second Close = %q", got)
	}
}

func TestLineWriterFlushesOnInterval(t *testing.T) {
	w, path := openTemp(t, Options{FlushInterval: 5 * time.Millisecond})
	defer w.Close()
	w.Write([]byte("soon"))
	// No Close: the ticker must write the line. Poll, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) == "soon\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("file = %q after 10s", data)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct {
	once    sync.Once
	entered chan struct{} // closed when the first Write starts
	release chan struct{}
}

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return len(p), nil
}

func TestLineWriterQueueBytesBound(t *testing.T) {
	sink := newBlockingWriter()
	w := NewLineWriter(sink, Options{LineBytes: 64, QueueBytes: 1000, BatchBytes: 64})
	defer w.Close()
	defer close(sink.release)
	// A line longer than the batch is written on its own: the writer
	// goroutine is now stuck in the sink and takes nothing more.
	w.Write(make([]byte, 64))
	<-sink.entered
	cases := []struct {
		name string
		n    int
		ok   bool
	}{
		{"short lines use the slots, not QueueBytes", 64, true},
		{"a long line is charged to QueueBytes", 600, true},
		{"a second would exceed it", 600, false},
		{"one that still fits", 300, true},
		{"a line longer than QueueBytes never fits", 1001, false},
		{"short lines still pass", 10, true},
	}
	var drops uint64
	for _, tc := range cases {
		if got := w.Write(make([]byte, tc.n)); got != tc.ok {
			t.Errorf("%s: Write(%d bytes) = %v", tc.name, tc.n, got)
		}
		if !tc.ok {
			drops++
		}
	}
	if w.Dropped() != drops {
		t.Errorf("Dropped() = %d, want %d", w.Dropped(), drops)
	}
	// Append is held to the same budget after formatting.
	if w.Append(func(b []byte) []byte { return append(b, make([]byte, 500)...) }) {
		t.Error("Append over QueueBytes accepted")
	}
}

// failWriter fails every write.
type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write(p []byte) (int, error) { return 0, errDiskFull }

func TestLineWriterSinkErrorCountsDrops(t *testing.T) {
	w := NewLineWriter(failWriter{}, bigQueue)
	for range 10 {
		w.Write([]byte("lost"))
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Errorf("Close = %v, want %v", err, errDiskFull)
	}
	if !errors.Is(w.Err(), errDiskFull) {
		t.Errorf("Err() = %v", w.Err())
	}
	if w.Dropped() != 10 || w.Written() != 0 {
		t.Errorf("dropped %d written %d, want 10 and 0", w.Dropped(), w.Written())
	}
}

func TestLineWriterAppend(t *testing.T) {
	var out bytes.Buffer
	w := NewLineWriter(&out, Options{LineBytes: 16})
	w.Append(func(b []byte) []byte { return append(b, "formatted in place"...) })
	w.Append(func(b []byte) []byte { return b }) // empty: skipped
	w.Write(nil)                                 // likewise
	w.Append(func(b []byte) []byte { return append(b, "two\n"...) })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "formatted in place\ntwo\n" {
		t.Errorf("out = %q", out.String())
	}
	// After Close, format is not even called.
	called := false
	if w.Append(func(b []byte) []byte { called = true; return b }) || called {
		t.Errorf("Append after Close: accepted or formatted")
	}
}

func TestOpenLineWriterErrors(t *testing.T) {
	// The directory does not exist.
	_, err := OpenLineWriter(filepath.Join(t.TempDir(), "missing", "x.log"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
	// "" and "-" are stdout, which Close leaves open.
	for _, p := range []string{"", "-"} {
		w, err := OpenLineWriter(p, Options{})
		if err != nil || w.out != os.Stdout || w.file != nil {
			t.Fatalf("OpenLineWriter(%q) = %v, %v", p, w, err)
		}
		w.Close()
	}
}

func TestOpenLineWriterMode(t *testing.T) {
	w, path := openTemp(t, Options{})
	w.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// 0640 before the umask: never more than owner rw, group r.
	if perm := fi.Mode().Perm(); perm&^0o640 != 0 {
		t.Errorf("mode = %v, want within -rw-r-----", perm)
	}
}

func TestLineWriterCloseDuringWritesLosesNoAcceptedLine(t *testing.T) {
	// Producers keep writing while Close runs: every line Write accepted
	// must be in the file, every other one counted as dropped.
	w, path := openTemp(t, Options{QueueLines: 64, BatchBytes: 256})
	const producers = 4
	var accepted [producers]uint64
	var started, wg sync.WaitGroup
	started.Add(producers)
	for p := range producers {
		wg.Go(func() {
			line := []byte(fmt.Sprintf("p%d", p))
			for i := 0; ; i++ {
				if i == 100 {
					started.Done()
				}
				if w.Write(line) {
					accepted[p]++
				} else if w.q.tail.Load()&closedBit != 0 {
					return
				}
			}
		})
	}
	started.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var total uint64
	for _, n := range accepted {
		total += n
	}
	if got := uint64(len(readLines(t, path))); got != total || w.Written() != total {
		t.Errorf("file has %d lines, Written() = %d, Write accepted %d", got, w.Written(), total)
	}
}
