package discovery

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// testUpstream is a real go-sdk server on an httptest listener that can be
// stopped and started again on the same address.
type testUpstream struct {
	t       *testing.T
	srv     *mcp.Server
	handler http.Handler // the go-sdk handler
	addr    string
	ts      *httptest.Server
	up      *upstreams.Upstream

	mu sync.Mutex
	mw func(http.Handler) http.Handler // optional middleware
}

func newTestUpstream(t *testing.T, alias string, stateless bool) *testUpstream {
	t.Helper()
	srv := demo.NewServer()
	return serveUpstream(t, alias, srv, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: stateless}))
}

// serveUpstream serves srv through h (a go-sdk handler for srv).
func serveUpstream(t *testing.T, alias string, srv *mcp.Server, h http.Handler) *testUpstream {
	t.Helper()
	u := &testUpstream{t: t, srv: srv, handler: h}
	u.start()
	u.addr = u.ts.Listener.Addr().String()
	u.up = &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: mustURL(t, u.ts.URL+"/mcp"), Cluster: upstreams.ClusterName(alias)}
	t.Cleanup(u.stop)
	return u
}

// wrap puts middleware in front of the upstream's handler (nil removes it).
func (u *testUpstream) wrap(mw func(http.Handler) http.Handler) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mw = mw
}

func (u *testUpstream) serveHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	mw := u.mw
	u.mu.Unlock()
	if mw == nil {
		u.handler.ServeHTTP(w, r)
		return
	}
	mw(u.handler).ServeHTTP(w, r)
}

func (u *testUpstream) start() {
	u.t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(u.serveHTTP))
	if u.addr != "" {
		l, err := net.Listen("tcp", u.addr)
		if err != nil {
			u.t.Fatalf("listen again on %s: %v", u.addr, err)
		}
		ts.Listener.Close()
		ts.Listener = l
	}
	ts.Start()
	u.ts = ts
}

func (u *testUpstream) stop() {
	u.ts.CloseClientConnections()
	u.ts.Close()
}

// closeSessions ends every session on the upstream's side, as a restart
// would: the next request carrying one of their ids gets 404.
func (u *testUpstream) closeSessions() int {
	n := 0
	for ss := range u.srv.Sessions() {
		ss.Close()
		n++
	}
	return n
}

// refused returns the URL of an address nothing listens on.
func refused(t *testing.T) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return mustURL(t, "http://"+addr+"/mcp")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fastOptions are discovery options scaled down for tests.
func fastOptions(t *testing.T) Options {
	return Options{
		Timeout:      time.Second,
		KeepAlive:    100 * time.Millisecond,
		PollInterval: 100 * time.Millisecond,
		RetryMin:     20 * time.Millisecond,
		RetryMax:     200 * time.Millisecond,
		Logger:       testLogger(t),
	}
}
