//go:build cgo

package main

import (
	"testing"
	"time"
)

func TestYielderDue(t *testing.T) {
	y := &yielder{every: 3 * time.Millisecond}
	t0 := time.Unix(1_800_000_000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, step := range []struct {
		tid  int
		at   time.Time
		want bool
	}{
		{1, ms(0), true},   // a thread's first hook
		{1, ms(1), false},  // within the interval
		{2, ms(1), true},   // another thread keeps its own time
		{1, ms(3), true},   // the interval is over
		{1, ms(5), false},  // counted from the last yield
		{2, ms(3), false},  // 2 ms after thread 2's
		{2, ms(4), true},   //
		{1, ms(60), true},  // after a long pause
		{1, ms(60), false}, // not twice at once
	} {
		if got := y.due(step.tid, step.at); got != step.want {
			t.Errorf("thread %d at %v: due = %v, want %v", step.tid, step.at.Sub(t0), got, step.want)
		}
	}
}
