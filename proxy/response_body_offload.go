package proxy

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/valyala/bytebufferpool"

	"github.com/sluicehq/sluice/filter"
)

// A transform costs CPU the loop owes its other connections: brotli or zstd
// on a 64 KiB JSON body is about a millisecond, and on one loop serving 16
// such responses at once a small request waited behind all of them (p50
// 0.2 ms -> 25 ms, p99 6 ms -> 200 ms; docs/BENCHMARKS.md "compress"). So a
// body of known length up to offloadMax is gathered whole (it is in the
// upstream's buffer already, in one or two reads) and transformed by a
// worker goroutine; the result comes back with the loop's Execute and is
// written in one syscall. The loop keeps serving meanwhile, and the kernel
// shares the core between it and the workers. The upstream connection goes
// back to its pool as soon as the body is in. Longer or unframed bodies are
// transformed on the loop one read (at most a read buffer) at a time, or
// by the stream goroutine once the client falls behind.
const offloadMax = 256 << 10

// The workers: at most GOMAXPROCS, started when a job finds none free and
// gone when the queue is empty, so an idle gateway runs none. A full queue
// makes the loop transform inline, which bounds what waits.
var offload = struct {
	jobs    chan *bodyJob
	workers atomic.Int32
	max     int32
	pool    sync.Pool
}{jobs: make(chan *bodyJob, 256), max: int32(runtime.GOMAXPROCS(0))}

// bodyJob is one whole body to transform off the loop. It owns the body
// chain and the gathered bytes until Run hands the result to the exchange.
type bodyJob struct {
	ex    *exchange
	gen   uint32
	lp    *Worker
	run   func() // deliver, bound once per job: Execute takes a func
	chain filter.BodyChain
	in    *bytebufferpool.ByteBuffer
	out   []byte // the chain's output, valid until chain.Release
	err   error
}

// gather keeps a run of a whole-mode body for the worker. Loop only.
func (ex *exchange) gather(data []byte) {
	if ex.rb.buf == nil {
		ex.rb.buf = bytebufferpool.Get()
	}
	ex.rb.buf.B = append(ex.rb.buf.B, data...)
}

// completeBody ends a response whose body is all in: a gathered body goes
// to a worker and the exchange completes when its result is written;
// otherwise it completes now. Loop only.
func (ex *exchange) completeBody() {
	if !ex.rb.whole {
		ex.complete()
		return
	}
	j, _ := offload.pool.Get().(*bodyJob)
	if j == nil {
		j = &bodyJob{}
		j.run = j.deliver
	}
	*j = bodyJob{ex: ex, gen: ex.gen, lp: ex.cl.lp, run: j.run, chain: ex.fx.TakeBody(), in: ex.rb.buf}
	if j.in == nil {
		j.in = bytebufferpool.Get()
	}
	ex.rb.buf = nil
	ex.rb.pending = true
	ex.putUpstream() // its part is over: back to the pool now
	if !submit(j) {
		j.transform() // every worker is busy and the queue is full: here, now
		j.deliver()
	}
}

// submit queues j for a worker, starting one if none is free; false when
// the queue is full. Loop only.
func submit(j *bodyJob) bool {
	select {
	case offload.jobs <- j:
	default:
		return false
	}
	if n := offload.workers.Load(); n < offload.max && offload.workers.CompareAndSwap(n, n+1) {
		go work()
	}
	return true
}

// work transforms queued bodies until the queue is empty. A worker that
// leaves checks the queue once more after it is counted out, so a job
// queued while it was leaving is never stranded.
func work() {
	for {
		select {
		case j := <-offload.jobs:
			j.transform()
			if err := j.lp.loop.Execute(j.run); err != nil {
				j.recycle() // the loop is gone, and the exchange with it
			}
			continue
		default:
		}
		offload.workers.Add(-1)
		n := offload.workers.Load()
		if len(offload.jobs) == 0 || n >= offload.max || !offload.workers.CompareAndSwap(n, n+1) {
			return
		}
	}
}

// transform runs the whole body through the chain. Called by a worker (or
// the loop, when none is free).
func (j *bodyJob) transform() {
	j.out, j.err = j.chain.Transform(j.in.B, true)
}

// deliver writes the transformed body and completes the exchange, unless
// the client left meanwhile. Loop only.
func (j *bodyJob) deliver() {
	ex := j.ex
	if ex.gen != j.gen || ex.cl == nil || ex.cl.closed || !ex.rb.pending {
		j.recycle()
		return
	}
	ex.rb.pending = false
	cl := ex.cl
	if j.err != nil {
		j.recycle()
		cl.close() // mid-body: a short response, never a wrong one
		return
	}
	f := ex.rb.frame(j.out, true)
	ex.bytesOut += int64(f.Len())
	cl.lp.writeFrame(cl.c, nil, f)
	j.recycle()
	if !cl.closed {
		ex.complete()
	}
}

// recycle releases the chain and the buffers and pools the job.
func (j *bodyJob) recycle() {
	j.chain.Release()
	bytebufferpool.Put(j.in)
	*j = bodyJob{run: j.run}
	offload.pool.Put(j)
}
