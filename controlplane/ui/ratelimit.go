package ui

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Failed sign-ins are limited per client address and in all, each by a
// token bucket: burst failures at once, then one more every interval.
// A limited client is answered 429 before its key is looked at, so the
// limit cannot be used to test keys faster.
var (
	signinPerClient = limit{burst: 5, every: time.Minute}
	signinAll       = limit{burst: 100, every: 6 * time.Second}
)

const (
	// maxSigninClients bounds the per-client table.
	maxSigninClients = 10000
	// maxClientAddress bounds a client address kept as a table key.
	maxClientAddress = 64
)

type limit struct {
	burst float64
	every time.Duration
}

// bucket is a token bucket: tokens at time at.
type bucket struct {
	tokens float64
	at     time.Time
}

// level is b's tokens at now.
func (l limit) level(b bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
}

// wait is how long until b holds a token at now (0: it does).
func (l limit) wait(b bucket, now time.Time) time.Duration {
	t := l.level(b, now)
	if t >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - t) * float64(l.every)))
}

// take spends one token of b at now.
func (l limit) take(b *bucket, now time.Time) {
	b.tokens, b.at = l.level(*b, now)-1, now
}

// signinLimiter counts failed sign-ins. Its memory is bounded: at most
// maxSigninClients buckets; a bucket that has refilled is the same as
// none and is dropped first.
type signinLimiter struct {
	mu        sync.Mutex
	now       func() time.Time
	perClient limit
	all       limit
	max       int
	clients   map[string]*bucket
	global    bucket
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, perClient: signinPerClient, all: signinAll, max: maxSigninClients,
		clients: map[string]*bucket{}, global: bucket{tokens: signinAll.burst, at: now()}}
}

// wait is how long client must wait before trying again (0: it may
// now), and whether the limit reached is the global one.
func (s *signinLimiter) wait(client string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitLocked(client, s.now())
}

// waitLocked is wait at now; s.mu is held.
func (s *signinLimiter) waitLocked(client string, now time.Time) (time.Duration, bool) {
	if b, ok := s.clients[client]; ok {
		if w := s.perClient.wait(*b, now); w > 0 {
			return w, false
		}
	}
	if w := s.all.wait(s.global, now); w > 0 {
		return w, true
	}
	return 0, false
}

// begin is wait and, when client may try now, failed in one step: the
// try is counted as a failure before its key is checked, so sign-ins
// sent at once cannot all pass wait before the first of them is counted.
// A try that turns out not to be a failure is handed back with undo.
func (s *signinLimiter) begin(client string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if w, all := s.waitLocked(client, now); w > 0 {
		return w, all
	}
	s.takeLocked(client, now)
	return 0, false
}

// undo hands back the token begin took for client's try.
func (s *signinLimiter) undo(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.global.tokens, s.global.at = min(s.all.burst, s.all.level(s.global, now)+1), now
	if b, ok := s.clients[client]; ok {
		b.tokens, b.at = min(s.perClient.burst, s.perClient.level(*b, now)+1), now
	}
}

// failed records a failed sign-in of client.
func (s *signinLimiter) failed(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.takeLocked(client, s.now())
}

// takeLocked spends a token of client's bucket and of the global one;
// s.mu is held.
func (s *signinLimiter) takeLocked(client string, now time.Time) {
	s.all.take(&s.global, now)
	b, ok := s.clients[client]
	if !ok {
		if len(s.clients) >= s.max {
			s.evict(now)
		}
		b = &bucket{tokens: s.perClient.burst, at: now}
		s.clients[client] = b
	}
	s.perClient.take(b, now)
}

// succeeded forgets client's failures.
func (s *signinLimiter) succeeded(client string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, client)
}

// evict makes room for one bucket: it drops the buckets that have
// refilled, else the fullest one (the client least limited); s.mu is
// held.
func (s *signinLimiter) evict(now time.Time) {
	var fullest string
	most := math.Inf(-1)
	for c, b := range s.clients {
		t := s.perClient.level(*b, now)
		if t >= s.perClient.burst {
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

// clientAddress is who is signing in: the client's TCP peer as Envoy
// saw it (wellknown.ClientAddressHeader, set by Envoy on the UI's routes)
// when the request comes from this host (Envoy; the UI's listener is a
// loopback one), else the request's own peer; an IPv6 address as its
// /64.
func clientAddress(r *http.Request) string {
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
	if len(host) > maxClientAddress {
		host = host[:maxClientAddress]
	}
	return host
}

// tooManySignins is the 429 of a limited sign-in: the login page, with
// Retry-After in whole seconds.
func (h *Handler) tooManySignins(w http.ResponseWriter, p *page, client string, wait time.Duration, all bool) {
	secs := int(math.Ceil(wait.Seconds()))
	h.log.Warn("ui sign-in rate limited", "client", client, "global", all, "retry_after_s", secs)
	who := "from your address"
	if all {
		who = "to this gateway (from all addresses)"
	}
	p.Error = fmt.Sprintf("Too many failed sign-ins %s: try again in %d seconds.", who, secs)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	h.render(w, http.StatusTooManyRequests, "login", p)
}
