package aggregate

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/policy"
)

// BenchmarkToolsListPage is the sidecar's part of one 500-tool page of a
// 2,000-tool list (50 servers × 40 tools, as make bench lists), for a key
// the policy decides: scope, policy filter, paging and go-sdk's encoding,
// over HTTP on loopback. Envoy and ext_proc are not in it.
func BenchmarkToolsListPage(b *testing.B) {
	_, endpoint := listFleet(b)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
	list := func() []byte {
		req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		req.Header.Set("X-Litellm-Api-Key", "sk-all")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s", resp.Status, out)
		}
		return out
	}
	if page := list(); bytes.Count(page, []byte(`"name":"up`)) != 500 {
		b.Fatalf("a page of %d tools: %.300s", bytes.Count(page, []byte(`"name":"up`)), page)
	}
	b.ReportAllocs()
	for b.Loop() {
		list()
	}
}

// listFleet is a sidecar with 50 servers × 40 tools in its catalog (as
// make bench lists) and a policy with two keys: sk-all may use every
// server, sk-some two of them and one tool of a third. It returns the
// sidecar and its /mcp endpoint.
func listFleet(tb testing.TB) (*Server, string) {
	var aliases []string
	var servers strings.Builder
	for i := range 50 {
		a := fmt.Sprintf("up%02d", i)
		aliases = append(aliases, a)
		fmt.Fprintf(&servers, "  %s: {url: \"https://%s.example/mcp\"}\n", a, a)
	}
	cfg, err := configfile.Parse([]byte("mcp_servers:\n"+servers.String()+`access:
  decision_log: {output: "off"}
  keys:
    - {key_alias: all, key: sk-all, object_permission: {mcp_servers: [`+strings.Join(aliases, ", ")+`]}}
    - {key_alias: some, key: sk-some, object_permission: {mcp_servers: [up01, up02, up03], mcp_tool_permissions: {up03: [tool_07]}}}
`), "bench.yaml", nil)
	if err != nil {
		tb.Fatal(err)
	}
	engine, err := policy.New(tb.Context(), cfg, policy.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := namespace.NewRegistry(aliases, namespace.DefaultSeparator)
	if err != nil {
		tb.Fatal(err)
	}
	s, endpoint := sidecarFor(tb, Options{Authorizer: engine, Registry: reg, Logger: slog.New(slog.DiscardHandler)})
	schema := map[string]any{"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}}}
	for _, a := range aliases {
		var tools []*mcp.Tool
		for j := range 40 {
			tools = append(tools, &mcp.Tool{Name: fmt.Sprintf("tool_%02d", j), Description: "a tool of a benchmark upstream <&>", InputSchema: schema})
		}
		s.cat.update(a, tools)
	}
	return s, endpoint
}
