//go:build cgo

package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// yieldEvery is how often each Envoy thread's hooks let the Go scheduler
// run (yielder).
const yieldEvery = 3 * time.Millisecond

// A yielder keeps the Go runtime's monitor (sysmon) from treating Envoy's
// threads as goroutines that run too long. A thread that calls into Go
// keeps a P between calls, in a system call as the runtime sees it, and
// since it never schedules a goroutine, the P's scheduling tick never
// moves: after 10 ms the monitor takes the P away as it would preempt a
// goroutine (the thread's next hook is preempted and waits for a P), and
// the monitor, having found work, polls every 20 µs for the next
// millisecond. In Envoy under load that was 3,000 monitor wake-ups a
// second, 11% of the Envoy process's CPU samples
// (docs/fast-path-experiments.md, eighth session). A runtime.Gosched
// every few milliseconds on each thread moves the tick. It is done in
// the hook that destroys a stream, after the answer went out: what the
// thread does next (another request's event) waits for the yield, two
// thread wake-ups, no longer.
type yielder struct {
	every time.Duration
	// last is when each thread last yielded (UnixNano), by thread id.
	// Envoy's threads are few and live as long as Envoy; one yielder
	// per listener's filter configuration.
	last sync.Map
}

// due says whether thread tid, at now, should yield, and if so counts it
// as done.
func (y *yielder) due(tid int, now time.Time) bool {
	v, ok := y.last.Load(tid)
	if !ok {
		v, _ = y.last.LoadOrStore(tid, new(atomic.Int64))
	}
	last := v.(*atomic.Int64)
	n := now.UnixNano()
	if n-last.Load() < int64(y.every) {
		return false
	}
	last.Store(n)
	return true
}

// maybeYield yields the calling thread's P if it is due.
// (Without a thread id, on systems other than Linux, it never yields.)
func (y *yielder) maybeYield() {
	if tid, ok := threadID(); ok && y.due(tid, time.Now()) {
		runtime.Gosched()
	}
}
