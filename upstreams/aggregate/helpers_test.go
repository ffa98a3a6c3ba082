package aggregate

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// upstream is a real go-sdk MCP server (the demo server) on httptest.
type upstream struct {
	srv *mcp.Server
	ts  *httptest.Server
	up  *upstreams.Upstream
}

func newUpstream(t *testing.T, alias string, stateless bool) *upstream {
	t.Helper()
	srv := demo.NewServer()
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: stateless}))
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return &upstream{srv: srv, ts: ts, up: &upstreams.Upstream{
		Alias: alias, Transport: upstreams.TransportHTTP, URL: mustURL(t, ts.URL+"/mcp"),
		Cluster: upstreams.ClusterName(alias),
	}}
}

// deadUpstream is an upstream nothing listens for.
func deadUpstream(t *testing.T, alias string) *upstreams.Upstream {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: mustURL(t, "http://"+addr+"/mcp")}
}

// silentUpstream accepts connections and never answers.
func silentUpstream(t *testing.T, alias string) *upstreams.Upstream {
	return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: testutil.SilentURL(t)}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sidecarFor starts a sidecar over ups on httptest and returns it with
// its URL. Cleanup closes everything and checks for leaked goroutines.
func sidecarFor(t testing.TB, opts Options, ups ...*upstreams.Upstream) (*Server, string) {
	t.Helper()
	if opts.Registry == nil {
		var aliases []string
		for _, u := range ups {
			aliases = append(aliases, u.Alias)
		}
		reg, err := namespace.NewRegistry(aliases, namespace.DefaultSeparator)
		if err != nil {
			t.Fatal(err)
		}
		opts.Registry = reg
	}
	opts.Upstreams = ups
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.DiscoveryTimeout == 0 {
		opts.DiscoveryTimeout = time.Second
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = 100 * time.Millisecond
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.CloseClientConnections()
		ts.Close()
		testutil.CheckNoLeaks(t)
	})
	return s, ts.URL + "/mcp"
}

// connect opens a go-sdk client session to the sidecar.
func connect(t *testing.T, endpoint string, copts *mcp.ClientOptions, sopts *mcp.ClientSessionOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, copts)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: endpoint}, sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func listNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	var names []string
	for tool, err := range cs.Tools(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tool.Name)
	}
	return names
}

// httptestServer serves srv on a loopback listener and returns its URL.
func httptestServer(t *testing.T, srv *http.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

func mustScope(t *testing.T, s *Server) namespace.Scope {
	t.Helper()
	sc, err := s.reg().Resolve(namespace.Endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
