package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type headerRoundTripper map[string]string

func (h headerRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestNamespacing exercises every endpoint form through Envoy: listing and
// calling agree in each.
func TestNamespacing(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo", "secret")
	beta := startUpstream(t, "beta", true, "echo")
	gamma := startUpstream(t, "gamma", false, "echo")
	gw := gatewayUnder(t, `
mcp_servers:
  alpha:
    url: "`+alpha.URL+`"
    disallowed_tools: [secret]
  beta_svc:
    url: "`+beta.URL+`"
    access_groups: [team]
  gamma:
    url: "`+gamma.URL+`"
    access_groups: [team]
`)
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		tools   []string
		call    string
		want    string
	}{
		{"aggregate", "/mcp", nil, []string{"alpha-echo", "beta_svc-echo", "gamma-echo"}, "gamma-echo", "gamma:echo:x"},
		{"server list", "/mcp/alpha,gamma", nil, []string{"alpha-echo", "gamma-echo"}, "alpha-echo", "alpha:echo:x"},
		{"access group", "/mcp/team", nil, []string{"beta_svc-echo", "gamma-echo"}, "beta_svc-echo", "beta:echo:x"},
		{"x-mcp-servers header", "/mcp", map[string]string{"x-mcp-servers": "team"}, []string{"beta_svc-echo", "gamma-echo"}, "gamma-echo", "gamma:echo:x"},
		{"single server", "/alpha/mcp", nil, []string{"echo"}, "echo", "alpha:echo:x"},
		{"single server prefixed name", "/beta_svc/mcp", nil, []string{"echo"}, "beta_svc-echo", "beta:echo:x"},
		// LiteLLM parity: a path after the server list is the MCP endpoint
		// of those servers, and unknown names in a list are skipped.
		{"path after the server list", "/mcp/alpha,gamma/tools", nil, []string{"alpha-echo", "gamma-echo"}, "gamma-echo", "gamma:echo:x"},
		{"unknown name in the path skipped", "/mcp/gamma,nosuch", nil, []string{"gamma-echo"}, "gamma-echo", "gamma:echo:x"},
		{"unknown name in the header skipped", "/mcp", map[string]string{"x-mcp-servers": "nosuch,alpha"}, []string{"alpha-echo"}, "alpha-echo", "alpha:echo:x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
				Endpoint: base + tt.path, MaxRetries: -1,
				HTTPClient: &http.Client{Transport: headerRoundTripper(tt.headers)},
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			var names []string
			waitFor(t, "tools in scope", func() bool {
				res, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				names = names[:0]
				for _, tool := range res.Tools {
					names = append(names, tool.Name)
				}
				return slices.Equal(names, tt.tools)
			})
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tt.call, Arguments: map[string]any{"text": "x"}})
			if err != nil || res.Content[0].(*mcp.TextContent).Text != tt.want {
				t.Fatalf("call %s: %v %v", tt.call, res, err)
			}
			// Out of scope or hidden: the same answer as a tool that does not exist.
			for _, hidden := range []string{"alpha-secret", "secret", "nosuch-echo"} {
				if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: hidden, Arguments: map[string]any{}}); err == nil {
					t.Errorf("hidden tool %s was callable on %s", hidden, tt.path)
				}
			}
		})
	}

	for _, bad := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/mcp/nosuch", 404, `unknown MCP server or access group \"nosuch\"`},
		{"/nosuch/mcp", 404, `unknown MCP server \"nosuch\"`},
		{"/mcp/alpha,,gamma", 400, "empty server name"},
		{"/mcp/nosuch,zilch/tools", 404, `unknown MCP server or access group \"nosuch\"`},
		{"/mcp/../alpha/mcp", 404, ""},
	} {
		status, _, body := post(t, base+bad.path, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
		if status != bad.status || !strings.Contains(body, bad.msg) || strings.Contains(body, "gamma\\\"") {
			t.Errorf("%s: %d %s", bad.path, status, body)
		}
	}
}

// TestEmptyServersHeaderFailsClosed: an x-mcp-servers header sent empty
// means no servers, as in LiteLLM, not every server. The session starts,
// lists are empty (sidecar) and calls are refused naming the header
// (router), through Envoy.
func TestEmptyServersHeaderFailsClosed(t *testing.T) {
	alpha := startUpstream(t, "alpha", false, "echo")
	gw := gatewayUnder(t, `
mcp_servers:
  alpha:
    url: "`+alpha.URL+`"
    access_groups: [team]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	connect := func(headers map[string]string) *mcp.ClientSession {
		c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{
			Endpoint: gw.Endpoint, MaxRetries: -1,
			HTTPClient: &http.Client{Transport: headerRoundTripper(headers)},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	// The aggregate lists alpha's tool once discovery is done ...
	all := connect(nil)
	waitFor(t, "alpha discovered", func() bool {
		res, err := all.ListTools(ctx, nil)
		return err == nil && len(res.Tools) == 1
	})
	for _, h := range []string{"x-mcp-servers", "x-mcp-access-groups"} {
		t.Run(h, func(t *testing.T) {
			// ... an empty header lists nothing and calls nothing.
			cs := connect(map[string]string{h: ""})
			res, err := cs.ListTools(ctx, nil)
			if err != nil || len(res.Tools) != 0 {
				t.Fatalf("tools/list with an empty %s: %v %v, want none", h, res, err)
			}
			_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "alpha-echo", Arguments: map[string]any{"text": "x"}})
			if err == nil || !strings.Contains(err.Error(), "No MCP servers in scope") {
				t.Fatalf("tools/call with an empty %s: %v", h, err)
			}
		})
	}
	if n := alpha.Calls.Load(); n != 0 {
		t.Fatalf("the upstream got %d calls", n)
	}
}
