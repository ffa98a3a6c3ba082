package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
)

func upstream(t *testing.T, alias, rawURL string) *upstreams.Upstream {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: u}
}

func mcpServer(t *testing.T) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/mcp?token=secret-in-query"
}

func TestCheck(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("<html>down</html>"))
	}))
	defer html.Close()
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer silent.Close()
	defer close(release)

	fixed := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return fixed }
	tests := []struct {
		name   string
		url    string
		status Status
		errHas string
	}{
		{"an MCP server", mcpServer(t), Healthy, ""},
		{"nothing listening", closedPort(t), Unhealthy, "initialize"},
		{"a server error page", html.URL + "/mcp", Unhealthy, "initialize"},
		{"no answer", silent.URL + "/mcp", Unhealthy, "no answer within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(context.Background(), upstream(t, "a", tt.url), 300*time.Millisecond, now)
			if r.Status != tt.status || !strings.Contains(r.Error, tt.errHas) {
				t.Fatalf("Check = %+v, want status %s and an error containing %q", r, tt.status, tt.errHas)
			}
			if tt.status == Healthy && r.Error != "" {
				t.Errorf("healthy with an error: %q", r.Error)
			}
			if !r.CheckedAt.Equal(fixed) {
				t.Errorf("CheckedAt = %v", r.CheckedAt)
			}
			if strings.Contains(r.Error, "secret-in-query") {
				t.Errorf("the error shows the URL: %q", r.Error)
			}
		})
	}
}

func TestCheckerRound(t *testing.T) {
	ups := []*upstreams.Upstream{upstream(t, "up", mcpServer(t)), upstream(t, "down", closedPort(t))}
	var (
		mu   sync.Mutex
		seen []string
	)
	c := &Checker{
		Upstreams: func() []*upstreams.Upstream { return ups },
		Timeout:   2 * time.Second,
		Checked: func(_ context.Context, up *upstreams.Upstream, _ Result) {
			mu.Lock()
			seen = append(seen, up.Alias)
			mu.Unlock()
		},
	}
	if got := c.Result("up").Status; got != Unknown {
		t.Errorf("before any check: %s, want unknown", got)
	}
	c.Round(context.Background())
	if got := c.Result("up").Status; got != Healthy {
		t.Errorf("up: %s", got)
	}
	if got := c.Result("down"); got.Status != Unhealthy || got.Error == "" {
		t.Errorf("down: %+v", got)
	}
	ups = ups[:1] // "down" removed from the gateway
	c.Round(context.Background())
	if got := c.Result("down").Status; got != Unknown {
		t.Errorf("a removed server keeps a result: %s", got)
	}
	if len(seen) != 3 {
		t.Errorf("Checked called for %q, want up, down, up", seen)
	}
}
