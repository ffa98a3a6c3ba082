package sessions

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams"
)

// countingUpstream is a real go-sdk server that counts initialize requests.
func countingUpstream(t *testing.T, stateless bool) (*upstreams.Upstream, *atomic.Int64) {
	t.Helper()
	var inits atomic.Int64
	srv := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "initialize" {
				inits.Add(1)
			}
			return next(ctx, method, req)
		}
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: stateless}))
	t.Cleanup(hs.Close)
	u, _ := url.Parse(hs.URL + "/mcp")
	return &upstreams.Upstream{Alias: "up", Transport: upstreams.TransportHTTP, URL: u}, &inits
}

func TestSessionIsOpenedOnceAndReused(t *testing.T) {
	up, inits := countingUpstream(t, false)
	p := NewPool(Options{})
	defer p.Close()
	ctx := context.Background()
	key := Key{ClientSession: "gw-1", Alias: "up"}

	var wg sync.WaitGroup
	ids := make([]string, 20)
	for i := range ids {
		wg.Go(func() {
			s, err := p.Session(ctx, key, up, "2025-06-18")
			id := s.ID
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for range 100 {
		if _, err := p.Session(ctx, key, up, "2025-06-18"); err != nil {
			t.Fatal(err)
		}
	}
	if n := inits.Load(); n != 1 {
		t.Fatalf("upstream saw %d initialize requests for one key, want 1", n)
	}
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("callers got different session ids: %q", ids)
		}
	}

	// Another client gets its own upstream session.
	other, err := p.Session(ctx, Key{ClientSession: "gw-2", Alias: "up"}, up, "2025-06-18")
	if err != nil || other.ID == ids[0] || other.ProtocolVersion != "2025-06-18" {
		t.Fatalf("second client: id %q err %v", other.ID, err)
	}
	if inits.Load() != 2 || p.Len() != 2 {
		t.Fatalf("inits %d, sessions %d", inits.Load(), p.Len())
	}
}

func TestEvictAndEndClient(t *testing.T) {
	up, inits := countingUpstream(t, false)
	p := NewPool(Options{})
	defer p.Close()
	ctx := context.Background()
	key := Key{ClientSession: "gw-1", Alias: "up"}
	firstS, _ := p.Session(ctx, key, up, "2025-11-25")
	first := firstS.ID

	p.Evict(firstS)
	second, _ := p.Session(ctx, key, up, "2025-11-25")
	if second.ID == first || inits.Load() != 2 {
		t.Fatalf("after eviction: id %q (first %q), inits %d", second.ID, first, inits.Load())
	}
	p.Evict(firstS) // a call still holding the evicted session
	if again, _ := p.Session(ctx, key, up, "2025-11-25"); again.ID != second.ID {
		t.Fatal("evicting a stale session dropped the current one")
	}
	p.EndClient("gw-1")
	if p.Len() != 0 {
		t.Fatalf("EndClient left %d sessions", p.Len())
	}
}

// Calls without a client session lease an upstream session each: never
// two calls at once on one session (their JSON-RPC ids would collide:
// every client starts at 1), never another principal's; a released
// session serves the next call of the same principal.
func TestSessionlessCallsLeaseSessions(t *testing.T) {
	up, inits := countingUpstream(t, false)
	p := NewPool(Options{MaxIdleLeased: 2})
	defer p.Close()
	ctx := context.Background()
	keyA := Key{Owner: "key-a", Alias: "up"}
	keyB := Key{Owner: "key-b", Alias: "up"}

	a1, err := p.Session(ctx, keyA, up, "2025-11-25")
	if err != nil || !a1.Leased() || a1.ID == "" {
		t.Fatalf("first call: %+v %v", a1, err)
	}
	a2, _ := p.Session(ctx, keyA, up, "2025-11-25")
	b1, _ := p.Session(ctx, keyB, up, "2025-11-25")
	if a2.ID == a1.ID || b1.ID == a1.ID || b1.ID == a2.ID {
		t.Fatalf("concurrent calls share a session: %q %q %q", a1.ID, a2.ID, b1.ID)
	}
	p.Release(a1)
	p.Release(a1) // twice is harmless
	if b2, _ := p.Session(ctx, keyB, up, "2025-11-25"); b2.ID == a1.ID {
		t.Fatal("another principal got key-a's released session")
	} else {
		p.Release(b2)
	}
	a3, _ := p.Session(ctx, keyA, up, "2025-11-25")
	if a3.ID != a1.ID {
		t.Fatalf("released session not reused: got %q, want %q", a3.ID, a1.ID)
	}
	if n := inits.Load(); n != 4 {
		t.Fatalf("upstream saw %d initializes, want 4", n)
	}

	// An evicted lease is never handed out again.
	p.Evict(a3)
	p.Release(a3)
	a4, _ := p.Session(ctx, keyA, up, "2025-11-25")
	if a4.ID == a3.ID {
		t.Fatal("evicted session handed out again")
	}

	// Beyond MaxIdleLeased per key, released sessions are closed.
	p.Release(a2)
	p.Release(a4)
	p.Release(b1)
	keyC := Key{Owner: "key-c", Alias: "up"}
	var cs []Session
	for range 3 {
		c, _ := p.Session(ctx, keyC, up, "2025-11-25")
		cs = append(cs, c)
	}
	for _, c := range cs {
		p.Release(c)
	}
	if n := p.Len(); n != 6 { // two idle each for key-a, key-b, key-c
		t.Fatalf("%d sessions kept, want 6", n)
	}
}

// A lease whose answer did not end is closed, never lent again (the
// upstream may still run the request, under an id the next call could
// reuse); evicting a lease drops its key's idle sessions too (an upstream
// that lost one restarted and lost them all).
func TestDiscardAndEvictLeases(t *testing.T) {
	up, inits := countingUpstream(t, false)
	p := NewPool(Options{})
	defer p.Close()
	ctx := context.Background()
	key := Key{Owner: "k", Alias: "up"}
	a, _ := p.Session(ctx, key, up, "2025-11-25")
	b, _ := p.Session(ctx, key, up, "2025-11-25")
	c, _ := p.Session(ctx, key, up, "2025-11-25")
	p.Discard(a)
	p.Release(b)
	p.Release(c)
	if n := p.Len(); n != 2 {
		t.Fatalf("%d sessions after one discard and two releases, want 2", n)
	}
	next, _ := p.Session(ctx, key, up, "2025-11-25")
	if next.ID == a.ID {
		t.Fatal("a discarded session was lent again")
	}
	p.Evict(next)
	p.Release(next)
	if n := p.Len(); n != 0 {
		t.Fatalf("%d sessions left after evicting a lease, want 0 (the key's idle ones go too)", n)
	}
	fresh, _ := p.Session(ctx, key, up, "2025-11-25")
	if fresh.ID == b.ID || fresh.ID == c.ID || fresh.ID == next.ID {
		t.Fatal("a session of an evicted key was lent again")
	}
	if n := inits.Load(); n != 4 {
		t.Fatalf("upstream saw %d initializes, want 4", n)
	}
}

// Many concurrent session-less calls of one principal never hold the
// same upstream session at once.
func TestLeasesAreExclusive(t *testing.T) {
	up, _ := countingUpstream(t, false)
	p := NewPool(Options{})
	defer p.Close()
	key := Key{Owner: "k", Alias: "up", Modern: true}
	var mu sync.Mutex
	held := map[string]bool{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				s, err := p.Session(context.Background(), key, up, "2025-11-25")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if held[s.ID] {
					t.Errorf("session %q held by two calls at once", s.ID)
				}
				held[s.ID] = true
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				delete(held, s.ID)
				mu.Unlock()
				p.Release(s)
			}
		})
	}
	wg.Wait()
	if n := p.Len(); n > 16 {
		t.Fatalf("%d sessions for 16 concurrent calls", n)
	}
}

func TestStatelessUpstreamHasNoSessionAndNoReconnects(t *testing.T) {
	up, inits := countingUpstream(t, true)
	p := NewPool(Options{})
	defer p.Close()
	for range 10 {
		s, err := p.Session(context.Background(), Key{ClientSession: "gw", Alias: "up"}, up, "2025-06-18")
		if err != nil || s.ID != "" {
			t.Fatalf("id %q err %v", s.ID, err)
		}
	}
	if inits.Load() != 1 {
		t.Fatalf("stateless upstream saw %d initializes, want 1", inits.Load())
	}
}

func TestDeadUpstreamFailsWithAlias(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1/mcp")
	p := NewPool(Options{})
	defer p.Close()
	_, err := p.Session(context.Background(), Key{ClientSession: "gw", Alias: "dead"}, &upstreams.Upstream{Alias: "dead", URL: u}, "2025-06-18")
	if err == nil {
		t.Fatal("no error for a dead upstream")
	}
	if p.Len() != 0 {
		t.Fatal("failed session was remembered")
	}
}

// A 2026-07-28 client's call to an upstream that only speaks older
// versions gets a legacy session and the version to present with it.
func TestModernClientOlderUpstream(t *testing.T) {
	var inits atomic.Int64
	srv := mcp.NewServer(&mcp.Implementation{Name: "old", Version: "1"}, &mcp.ServerOptions{SupportedProtocolVersions: []string{"2025-06-18"}})
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "initialize" {
				inits.Add(1)
			}
			return next(ctx, method, req)
		}
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	p := NewPool(Options{})
	defer p.Close()
	s, err := p.Session(context.Background(), Key{Alias: "old", Modern: true}, &upstreams.Upstream{Alias: "old", URL: u}, "2026-07-28")
	if err != nil || s.ID == "" || s.ProtocolVersion != "2025-06-18" || inits.Load() != 1 {
		t.Fatalf("session %+v err %v inits %d", s, err, inits.Load())
	}
	modern, modernInits := countingUpstream(t, true) // go-sdk speaks 2026-07-28 only when stateless
	for range 3 {
		s, err = p.Session(context.Background(), Key{Alias: "up", Modern: true}, modern, "2026-07-28")
		if err != nil || s.ID != "" || s.ProtocolVersion != "2026-07-28" || s.Leased() {
			t.Fatalf("modern upstream: %+v %v", s, err)
		}
		p.Release(s)
	}
	if n := modernInits.Load(); n != 0 {
		t.Fatalf("a 2026-07-28 upstream got %d initialize requests, want none", n)
	}
}

// An upstream session no call has used for IdleTimeout is closed (the
// upstream gets DELETE); one in use stays; the next call on an expired key
// opens a new session.
func TestIdleSessionsExpire(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	var deletes atomic.Int64
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	u, _ := url.Parse(hs.URL)
	up := &upstreams.Upstream{Alias: "up", Transport: upstreams.TransportHTTP, URL: u}

	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	advance := func(d time.Duration) { now.Add(int64(d)) }
	p := NewPool(Options{IdleTimeout: 10 * time.Minute, Now: clock})
	defer p.Close()
	ctx := context.Background()
	busy, idle := Key{ClientSession: "busy", Alias: "up"}, Key{ClientSession: "idle", Alias: "up"}
	first := map[Key]string{}
	for _, k := range []Key{busy, idle} {
		s, err := p.Session(ctx, k, up, "2025-11-25")
		if err != nil || s.ID == "" {
			t.Fatalf("open %v: %q %v", k, s.ID, err)
		}
		first[k] = s.ID
	}

	advance(6 * time.Minute)
	if _, err := p.Session(ctx, busy, up, "2025-11-25"); err != nil { // busy is used
		t.Fatal(err)
	}
	if n := p.ExpireIdle(clock()); n != 0 {
		t.Fatalf("expired %d sessions after 6 minutes", n)
	}
	advance(6 * time.Minute) // idle: 12 minutes unused; busy: 6
	if n := p.ExpireIdle(clock()); n != 1 || p.Len() != 1 {
		t.Fatalf("expired %d, %d left; want 1 and 1", n, p.Len())
	}
	waitFor(t, func() bool { return deletes.Load() == 1 }, "the upstream to get DELETE for the idle session")

	s, err := p.Session(ctx, busy, up, "2025-11-25")
	if err != nil || s.ID != first[busy] {
		t.Fatalf("busy session changed: %q → %q (%v)", first[busy], s.ID, err)
	}
	s, err = p.Session(ctx, idle, up, "2025-11-25")
	if err != nil || s.ID == "" || s.ID == first[idle] {
		t.Fatalf("expired key: got %q (was %q), %v; want a new session", s.ID, first[idle], err)
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// EndUpstreams closes the sessions of removed or changed upstreams and
// leaves the others; a leased one is closed when its call gives it back.
func TestEndUpstreams(t *testing.T) {
	up, _ := countingUpstream(t, false)
	other := *up
	other.Alias = "other"
	p := NewPool(Options{})
	defer p.Close()
	ctx := context.Background()
	for _, k := range []Key{{ClientSession: "gw-1", Alias: "up"}, {ClientSession: "gw-1", Alias: "other"}} {
		u := up
		if k.Alias == "other" {
			u = &other
		}
		if _, err := p.Session(ctx, k, u, "2025-06-18"); err != nil {
			t.Fatal(err)
		}
	}
	held, err := p.Session(ctx, Key{Owner: "k", Alias: "up"}, up, "2025-06-18")
	if err != nil || !held.Leased() {
		t.Fatalf("lease: %v %v", held, err)
	}
	if n := p.EndUpstreams("up"); n != 1 {
		t.Fatalf("EndUpstreams closed %d, want 1 (the leased one stays with its call)", n)
	}
	if p.Len() != 2 {
		t.Fatalf("sessions after EndUpstreams: %d, want the other's and the leased one", p.Len())
	}
	p.Release(held)
	if p.Len() != 1 {
		t.Fatalf("sessions after the lease came back: %d, want 1 (not kept idle)", p.Len())
	}
	if n := p.EndUpstreams(); n != 0 {
		t.Fatalf("EndUpstreams() = %d", n)
	}
}

// An upstream that accepts connections and never answers must cost a call
// no more than the pool's ConnectTimeout. go-sdk's Connect, when its
// initialize times out, closes the session it began, and that Close can
// wait for the best-effort notifications/cancelled (5 s) it sends to the
// same silent peer: the call then took twice its bound and Envoy answered
// a bare 504 before the gateway's 502 naming the server.
func TestSilentUpstreamCostsOnlyConnectTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	held := make(chan net.Conn, 64)
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	})
	t.Cleanup(func() {
		ln.Close()
		conns.Wait()
		close(held)
		for c := range held {
			c.Close()
		}
	})
	u, _ := url.Parse("http://" + ln.Addr().String() + "/mcp")
	up := &upstreams.Upstream{Alias: "silent", URL: u}
	const connectTimeout = 300 * time.Millisecond
	p := NewPool(Options{ConnectTimeout: connectTimeout})
	defer p.Close()
	// Many at once: whether Close waits for the notice depends on which
	// goroutine takes go-sdk's writer first.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			start := time.Now()
			_, err := p.Session(context.Background(), Key{ClientSession: fmt.Sprint("gw", i), Alias: "silent"}, up, "2025-06-18")
			took := time.Since(start)
			if err == nil {
				t.Error("a silent upstream gave a session")
			}
			// Far below go-sdk's 5 s cancellation notice, far above the bound.
			if took > 3*time.Second {
				t.Errorf("attempt %d: opening took %v with a connect timeout of %v", i, took, connectTimeout)
			}
		})
	}
	wg.Wait()
}

// The pool keeps upstream sessions without go-sdk client sessions: an
// open session costs no goroutine, still works at the upstream, answers
// Alive, and ends there (DELETE) when the pool drops it.
func TestKeptSessionsCostNoGoroutines(t *testing.T) {
	up, _ := countingUpstream(t, false)
	p := NewPool(Options{})
	defer p.Close()
	ctx := context.Background()
	if _, err := p.Session(ctx, Key{ClientSession: "warm", Alias: "up"}, up, "2025-11-25"); err != nil {
		t.Fatal(err)
	}
	const n = 200
	sessions := make([]Session, n)
	for i := range n {
		s, err := p.Session(ctx, Key{ClientSession: fmt.Sprint("gw-", i), Alias: "up"}, up, "2025-11-25")
		if err != nil {
			t.Fatal(err)
		}
		sessions[i] = s
	}
	// The upstream (in this process) keeps a goroutine per session; a
	// go-sdk client session kept open would add one reading it.
	clientReaders := func() int {
		buf := make([]byte, 8<<20)
		buf = buf[:runtime.Stack(buf, true)]
		return strings.Count(string(buf), "(*streamableClientConn)")
	}
	var readers int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if readers = clientReaders(); readers == 0 {
			break
		}
	}
	if readers != 0 {
		t.Fatalf("%d open sessions keep %d go-sdk client goroutines", n, readers)
	}

	call := func(s Session) int {
		req, _ := http.NewRequest(http.MethodPost, up.URL.String(), strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/list"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", s.ID)
		req.Header.Set("Mcp-Protocol-Version", s.ProtocolVersion)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	s := sessions[n/2]
	if code := call(s); code != http.StatusOK {
		t.Fatalf("a kept session at the upstream: %d", code)
	}
	if !p.Alive(ctx, s) {
		t.Fatal("a kept session is not alive")
	}
	p.EndClient("gw-" + fmt.Sprint(n/2))
	testutil.Eventually(t, "the upstream session ended", func() bool { return call(s) == http.StatusNotFound })
	if p.Alive(ctx, s) {
		t.Fatal("an ended session is alive")
	}
}
