// Package authlimit limits failed authentications per client address
// (and, optionally, in all), each by a token bucket: the admin web UI's
// sign-in and the admin API share it. A limited client is refused before
// its key is looked at, so the limit cannot be used to test keys faster.
package authlimit

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// MaxClientAddress bounds a client address kept as a table key.
const MaxClientAddress = 64

// Limit is a token bucket: Burst failures at once, then one more every
// Every. The zero Limit limits nothing.
type Limit struct {
	Burst float64
	Every time.Duration
}

func (l Limit) on() bool { return l.Burst > 0 && l.Every > 0 }

// bucket is a token bucket: tokens at time at.
type bucket struct {
	tokens float64
	at     time.Time
	// quietUntil: refusals of this client before it are not logged again.
	quietUntil time.Time
}

// level is b's tokens at now.
func (l Limit) level(b bucket, now time.Time) float64 {
	return min(l.Burst, b.tokens+float64(now.Sub(b.at))/float64(l.Every))
}

// wait is how long until b holds a token at now (0: it does).
func (l Limit) wait(b bucket, now time.Time) time.Duration {
	t := l.level(b, now)
	if t >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - t) * float64(l.Every)))
}

// take spends one token of b at now.
func (l Limit) take(b *bucket, now time.Time) {
	b.tokens, b.at = l.level(*b, now)-1, now
}

// give hands one token back to b at now.
func (l Limit) give(b *bucket, now time.Time) {
	b.tokens, b.at = min(l.Burst, l.level(*b, now)+1), now
}

// Limiter counts failed authentications. Its memory is bounded: at most
// max buckets; a bucket that has refilled is the same as none and is
// dropped first. Safe for concurrent use.
type Limiter struct {
	mu        sync.Mutex
	now       func() time.Time
	perClient Limit
	all       Limit
	max       int
	clients   map[string]*bucket
	global    bucket
}

// New returns a limiter with clock now: perClient per client address,
// all over every client (the zero Limit: no global cap), at most
// maxClients addresses remembered.
func New(now func() time.Time, perClient, all Limit, maxClients int) *Limiter {
	return &Limiter{now: now, perClient: perClient, all: all, max: max(maxClients, 1),
		clients: map[string]*bucket{}, global: bucket{tokens: all.Burst, at: now()}}
}

// Wait is how long client must wait before trying again (0: it may
// now), and whether the limit reached is the global one.
func (s *Limiter) Wait(client string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitLocked(client, s.now())
}

// waitLocked is Wait at now; s.mu is held.
func (s *Limiter) waitLocked(client string, now time.Time) (time.Duration, bool) {
	if b, ok := s.clients[client]; ok {
		if w := s.perClient.wait(*b, now); w > 0 {
			return w, false
		}
	}
	if s.all.on() {
		if w := s.all.wait(s.global, now); w > 0 {
			return w, true
		}
	}
	return 0, false
}

// Begin is Wait and, when client may try now, Failed in one step: the
// try is counted as a failure before its key is checked, so tries sent
// at once cannot all pass Wait before the first of them is counted. A
// try that turns out not to be a failure is handed back with Undo.
func (s *Limiter) Begin(client string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if w, all := s.waitLocked(client, now); w > 0 {
		return w, all
	}
	s.takeLocked(client, now)
	return 0, false
}

// Try is one authentication by client, for a caller that checks a key
// cheaply (in memory, without waiting) before a slower check. Limited:
// Wait says how long, and good is not called. Else good runs under the
// limiter's lock, so tries sent at once are decided one after another:
// when it says true the try is not counted (Good), else the try is
// counted as a failure until the caller's slower check, if any, finds
// the key good after all (then Undo).
//
// Log is set on the first refusal of client in a while (at least a
// minute, or until the client may try again): callers log that one, not
// every refused try.
func (s *Limiter) Try(client string, good func() bool) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if w, all := s.waitLocked(client, now); w > 0 {
		r := Result{Wait: w, All: all}
		q := &s.global.quietUntil
		if b, ok := s.clients[client]; ok && !all {
			q = &b.quietUntil
		}
		if !now.Before(*q) {
			*q, r.Log = now.Add(max(w, time.Minute)), true
		}
		return r
	}
	if good() {
		return Result{Good: true}
	}
	s.takeLocked(client, now)
	return Result{}
}

// Result is the outcome of Try.
type Result struct {
	// Wait is how long the client must wait before trying again; 0: the
	// try was made.
	Wait time.Duration
	// All: the limit reached is the global one.
	All bool
	// Log: the first refusal in a while; log it.
	Log bool
	// Good: the cheap check found the key good; nothing was counted.
	Good bool
}

// Undo hands back the token Begin (or Try) took for client's try.
func (s *Limiter) Undo(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.all.on() {
		s.all.give(&s.global, now)
	}
	if b, ok := s.clients[client]; ok {
		s.perClient.give(b, now)
	}
}

// Failed records a failed authentication of client.
func (s *Limiter) Failed(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.takeLocked(client, s.now())
}

// takeLocked spends a token of client's bucket and of the global one;
// s.mu is held.
func (s *Limiter) takeLocked(client string, now time.Time) {
	if s.all.on() {
		s.all.take(&s.global, now)
	}
	b, ok := s.clients[client]
	if !ok {
		if len(s.clients) >= s.max {
			s.evict(now)
		}
		b = &bucket{tokens: s.perClient.Burst, at: now}
		s.clients[client] = b
	}
	s.perClient.take(b, now)
}

// Succeeded forgets client's failures.
func (s *Limiter) Succeeded(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, client)
}

// Clients is how many client addresses are remembered.
func (s *Limiter) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// evict makes room for one bucket: it drops the buckets that have
// refilled, else the fullest one (the client least limited); s.mu is
// held.
func (s *Limiter) evict(now time.Time) {
	var fullest string
	most := math.Inf(-1)
	for c, b := range s.clients {
		t := s.perClient.level(*b, now)
		if t >= s.perClient.Burst {
			delete(s.clients, c)
			continue
		}
		if t > most {
			fullest, most = c, t
		}
	}
	if len(s.clients) >= s.max {
		delete(s.clients, fullest)
	}
}

// ClientAddress is who is authenticating: the client's TCP peer as Envoy
// saw it (wellknown.ClientAddressHeader, which Envoy sets on the UI's and
// the admin API's routes, overwriting what the client sent) when the
// request comes from this host (Envoy; the admin listener is a loopback
// one), else the request's own peer; an IPv6 address as its /64.
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		if v := strings.TrimSpace(r.Header.Get(wellknown.ClientAddressHeader)); v != "" {
			host = v
		}
	}
	// An IPv6 client is counted by its /64: one host usually holds all of
	// it, and counting each address would let it try 2^64 times as often.
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.WithZone("").Unmap()
		if a.Is6() {
			p, _ := a.Prefix(64)
			return p.String()
		}
		return a.String()
	}
	if len(host) > MaxClientAddress {
		host = host[:MaxClientAddress]
	}
	return host
}

type limitedByCallerKey struct{}

// LimitedByCaller marks an in-process request whose key its caller has
// limited already (the UI's sign-in) or found good before (a UI
// session's): the admin API does not count it again.
func LimitedByCaller(ctx context.Context) context.Context {
	return context.WithValue(ctx, limitedByCallerKey{}, true)
}

// IsLimitedByCaller reports whether ctx was marked by LimitedByCaller.
func IsLimitedByCaller(ctx context.Context) bool {
	v, _ := ctx.Value(limitedByCallerKey{}).(bool)
	return v
}
