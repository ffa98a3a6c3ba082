package sessions

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

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
		t.Fatalf("second client: id %q err %v", other, err)
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

	p.Evict(key, "not-the-current-id")
	if again, _ := p.Session(ctx, key, up, "2025-11-25"); again.ID != first {
		t.Fatal("evicting a stale id dropped the current session")
	}
	p.Evict(key, first)
	second, _ := p.Session(ctx, key, up, "2025-11-25")
	if second.ID == first || inits.Load() != 2 {
		t.Fatalf("after eviction: id %q (first %q), inits %d", second, first, inits.Load())
	}
	p.EndClient("gw-1")
	if p.Len() != 0 {
		t.Fatalf("EndClient left %d sessions", p.Len())
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
	modern, _ := countingUpstream(t, true) // go-sdk speaks 2026-07-28 only when stateless
	s, err = p.Session(context.Background(), Key{Alias: "up", Modern: true}, modern, "2026-07-28")
	if err != nil || s.ID != "" || s.ProtocolVersion != "2026-07-28" {
		t.Fatalf("modern upstream: %+v %v", s, err)
	}
}
