// Package backoff yields retry delays: capped exponential with ±20%
// jitter, so things that failed together do not retry in lockstep.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff counts attempts between Min and Max. The zero value retries at
// once; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	attempt  int
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	d := b.Min
	for i := 0; i < b.attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	b.attempt++
	if d <= 0 {
		return 0
	}
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - jitter
	}
	return d + jitter
}

// Reset starts over from Min after a success.
func (b *Backoff) Reset() { b.attempt = 0 }
