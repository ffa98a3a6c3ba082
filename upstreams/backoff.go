package upstreams

import (
	"math/rand/v2"
	"time"
)

// backoff yields capped exponential delays with ±20% jitter, so upstreams
// that failed together do not retry in lockstep.
type backoff struct {
	min, max time.Duration
	attempt  int
}

// next returns the delay before the next attempt and counts the attempt.
func (b *backoff) next() time.Duration {
	d := b.min
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.attempt++
	jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - jitter
	}
	return d + jitter
}

// reset starts over from min after a success.
func (b *backoff) reset() { b.attempt = 0 }
