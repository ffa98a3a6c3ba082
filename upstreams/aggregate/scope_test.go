package aggregate

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// headerTransport adds fixed headers to every request of a client.
type headerTransport map[string]string

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestListingFollowsTheScope(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	beta := newUpstream(t, "beta", true)
	gamma := newUpstream(t, "gamma", false)
	gamma.up.DisallowedTools = []string{"add"}
	beta.up.AllowedTools = []string{"echo"}
	reg, err := namespace.NewRegistry([]string{"alpha", "beta", "gamma"}, "-",
		namespace.WithAccessGroups(map[string][]string{"team": {"beta", "gamma"}}))
	if err != nil {
		t.Fatal(err)
	}
	_, endpoint := sidecarFor(t, Options{Registry: reg, PageSize: 2}, alpha.up, beta.up, gamma.up)
	base := strings.TrimSuffix(endpoint, "/mcp")

	tests := []struct {
		name    string
		path    string
		headers map[string]string
		want    []string
	}{
		{"aggregate", "/mcp", nil, []string{"alpha-add", "alpha-echo", "alpha-word_count", "beta-echo", "gamma-echo", "gamma-word_count"}},
		{"server list", "/mcp/gamma,alpha", nil, []string{"alpha-add", "alpha-echo", "alpha-word_count", "gamma-echo", "gamma-word_count"}},
		{"access group", "/mcp/team", nil, []string{"beta-echo", "gamma-echo", "gamma-word_count"}},
		{"header", "/mcp", map[string]string{"X-Mcp-Servers": "beta"}, []string{"beta-echo"}},
		{"single server unprefixed", "/gamma/mcp", nil, []string{"echo", "word_count"}},
		// As in LiteLLM: a path after the list is the same endpoint, and
		// names that are neither servers nor groups are skipped.
		{"path after the list", "/mcp/gamma,alpha/tools", nil, []string{"alpha-add", "alpha-echo", "alpha-word_count", "gamma-echo", "gamma-word_count"}},
		{"unknown name skipped", "/mcp/gamma,nope", nil, []string{"gamma-echo", "gamma-word_count"}},
		{"unknown header name skipped", "/mcp", map[string]string{"X-Mcp-Servers": "nope,beta"}, []string{"beta-echo"}},
		// After the aggregate above was listed in full: an empty header
		// is no servers (fail closed), not every server.
		{"empty header", "/mcp", map[string]string{"X-Mcp-Servers": ""}, nil},
		{"empty groups header", "/mcp", map[string]string{"X-Mcp-Access-Groups": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
			cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{
				Endpoint:   base + tt.path,
				HTTPClient: &http.Client{Transport: headerTransport(tt.headers)},
			}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			var got []string
			testutil.Eventually(t, "tools in scope", func() bool {
				got = got[:0]
				for tool, err := range cs.Tools(t.Context(), nil) { // follows the gateway's cursor (page size 2)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, tool.Name)
				}
				return slices.Equal(got, tt.want)
			})
			// Calling in scope works with the names as listed.
			if tt.name == "single server unprefixed" {
				res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
				if err != nil || res.IsError {
					t.Fatalf("call echo on /gamma/mcp: %v %v", res, err)
				}
				if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 1, "b": 2}}); err == nil {
					t.Fatal("disallowed tool callable")
				}
			}
		})
	}
}

func TestInvalidCursor(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	_, endpoint := sidecarFor(t, Options{}, alpha.up)
	cs := connect(t, endpoint, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	_, err := cs.ListTools(t.Context(), &mcp.ListToolsParams{Cursor: "garbage"})
	if err == nil || !strings.Contains(err.Error(), "invalid cursor") {
		t.Fatalf("err = %v", err)
	}
}

// The sidecar resolves the path as sent, like the router: decoded once by
// Resolve, not first by net/http (a %25-escaped comma would otherwise
// split into more servers here than the router saw).
func TestWithPathKeepsThePathAsSent(t *testing.T) {
	var got string
	h := withPath(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get(pathHeader) }))
	for _, path := range []string{"/mcp/a,b%252Cc", "/mcp/a,x%0A/sse", "/mcp"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, path, nil))
		if got != path {
			t.Errorf("path %q recorded as %q", path, got)
		}
	}
}
