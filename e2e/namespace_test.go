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
		{"/mcp/../alpha/mcp", 404, ""},
	} {
		status, _, body := post(t, base+bad.path, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), nil)
		if status != bad.status || !strings.Contains(body, bad.msg) || strings.Contains(body, "gamma\\\"") {
			t.Errorf("%s: %d %s", bad.path, status, body)
		}
	}
}
