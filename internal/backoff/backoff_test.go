package backoff

import (
	"testing"
	"time"
)

func TestBackoffGrowsToItsCapWithJitter(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		got := b.Next()
		if got < want*8/10 || got > want*12/10 {
			t.Fatalf("attempt %d: %v, want %v ±20%%", i, got, want)
		}
	}
	b.Reset()
	if got := b.Next(); got > 120*time.Millisecond {
		t.Fatalf("after Reset: %v", got)
	}
	if got := (&Backoff{}).Next(); got != 0 {
		t.Fatalf("zero Backoff: %v", got)
	}
}
