package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// rawUpstream serves tools that take any arguments and answer
// "<server>:<tool>" (no input validation, so allowed_params is the only
// filter on arguments).
func rawUpstream(t *testing.T, name string, tools ...string) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	for _, tool := range tools {
		srv.AddTool(&mcp.Tool{Name: tool, InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + tool}}}, nil
			})
	}
	return serveMCP(t, srv, true)
}

// gatewayFromFile starts the gateway on a config file (so that editing
// the file reloads its access settings) and returns it with its logs.
func gatewayFromFile(t *testing.T, path string) (*gateway.Instance, *testutil.SyncBuffer) {
	t.Helper()
	bin := requireEnv(t, "ENVOY_BIN")
	cfg, err := configfile.Load(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	rt, err := gateway.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	inst, err := gateway.Start(ctx, rt, gateway.Options{
		EnvoyBin: bin, FastPathModule: testutil.FastPathModule(t), Port: port, EnvoyOutput: &logs,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("start gateway: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		inst.Close()
		if t.Failed() {
			t.Logf("gateway and Envoy logs:\n%s", logs.String())
		}
	})
	return inst, &logs
}

const accessConfig = `
general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  wiki:
    url: "%s"
    access_groups: [docs]
    disallowed_tools: [delete_page]
    allowed_params:
      read_wiki_contents: [status]
  github:
    url: "%s"
    access_groups: [dev]
  jira:
    url: "%s"
    access_groups: [dev]
  public:
    url: "%s"
    allow_all_keys: true
access:
  decision_log: {output: %s}
  keys:
    - {key_alias: full, key: sk-full-0123456789, object_permission: {mcp_servers: [wiki, github, jira]}}
    - {key_alias: docs, key: sk-docs-0123456789, object_permission: {mcp_access_groups: [docs]}}
    - {key_alias: teamed, key: sk-teamed-0123456789, team_id: platform, object_permission: {mcp_servers: [github, jira]}}
    - {key_alias: orged, key: sk-orged-0123456789, team_id: acme-devs}
    - {key_alias: tools, key: sk-tools-0123456789, object_permission: {mcp_servers: [github], mcp_tool_permissions: {github: [list_issues]}}}
    - {key_alias: none, key: sk-none-0123456789}
    - {key_alias: revoked, key: sk-revoked-0123456789, blocked: true, object_permission: {mcp_servers: [wiki]}}
  teams:
    - {team_id: platform, object_permission: {mcp_servers: [github]}}
    - {team_id: acme-devs, organization_id: acme, object_permission: {mcp_access_groups: [dev, docs]}}
  organizations:
    - {organization_id: acme, object_permission: {mcp_servers: [github, public]}}
`

// allTools is every tool the upstreams have, prefixed.
var allTools = []string{
	"github-create_issue", "github-list_issues", "jira-get_ticket", "public-ping",
	"wiki-delete_page", "wiki-read_wiki_contents", "wiki-search",
}

// TestAccessControl runs the key × server × tool × parameter matrix
// through real Envoy: each key lists exactly what it may call, calls
// everything else get 403 (401 without a valid key), allowed_params
// answers with LiteLLM's message, and editing the config revokes a key
// without a restart.
func TestAccessControl(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "decisions.log")
	cfgPath := filepath.Join(dir, "config.yaml")
	cfgText := fmt.Sprintf(accessConfig,
		rawUpstream(t, "wiki", "read_wiki_contents", "search", "delete_page"),
		rawUpstream(t, "github", "list_issues", "create_issue"),
		rawUpstream(t, "jira", "get_ticket"),
		rawUpstream(t, "public", "ping"),
		logPath)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	gw, _ := gatewayFromFile(t, cfgPath)
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")

	visible := map[string][]string{
		"sk-master-0123456789": {"github-create_issue", "github-list_issues", "jira-get_ticket", "public-ping", "wiki-read_wiki_contents", "wiki-search"},
		"sk-full-0123456789":   {"github-create_issue", "github-list_issues", "jira-get_ticket", "public-ping", "wiki-read_wiki_contents", "wiki-search"},
		"sk-docs-0123456789":   {"public-ping", "wiki-read_wiki_contents", "wiki-search"},    // access-group key
		"sk-teamed-0123456789": {"github-create_issue", "github-list_issues", "public-ping"}, // team ceiling
		"sk-orged-0123456789":  {"github-create_issue", "github-list_issues", "public-ping"}, // org ceiling
		"sk-tools-0123456789":  {"github-list_issues", "public-ping"},                        // tool permissions
		"sk-none-0123456789":   {"public-ping"},                                              // allow_all_keys only
	}
	for key, want := range visible {
		t.Run(strings.TrimSuffix(key, "-0123456789"), func(t *testing.T) {
			// Listing through an MCP client with the key.
			listed := listTools(t, base+"/mcp", map[string]string{"x-litellm-api-key": key})
			if !slices.Equal(listed, want) {
				t.Fatalf("listed %v, want %v", listed, want)
			}
			// Calling every tool: what is listed answers 200, the rest 403
			// (the master key, which may see everything, gets MCP's
			// "Unknown tool" for a tool the server itself hides).
			var callable []string
			for _, tool := range append(slices.Clone(allTools), "nosuch-tool") {
				status, body := callTool(t, gw.Endpoint, key, tool, `{"status":"active"}`)
				switch {
				case status == 200 && !strings.Contains(body, `"error"`):
					callable = append(callable, tool)
				case status == 200 && key == "sk-master-0123456789" && strings.Contains(body, "Unknown tool: "+tool):
				case status == 403 && strings.Contains(body, `"code":-32043`) &&
					strings.Contains(body, "Access denied: tool "+tool+" is not available to this key"):
				default:
					t.Errorf("call %s: %d %s", tool, status, body)
				}
			}
			if !slices.Equal(callable, want) {
				t.Errorf("callable %v, listed %v: visible and callable disagree", callable, want)
			}
			// allowed_params: LiteLLM's message, exactly, for keys that
			// see the tool.
			status, body := callTool(t, gw.Endpoint, key, "wiki-read_wiki_contents", `{"status":"active","limit":10}`)
			if slices.Contains(want, "wiki-read_wiki_contents") {
				const msg = "Parameters ['limit'] are not allowed for tool read_wiki_contents. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."
				var resp struct {
					Error struct{ Message string }
				}
				json.Unmarshal([]byte(body), &resp)
				if status != 403 || resp.Error.Message != msg {
					t.Errorf("allowed_params: %d %s", status, body)
				}
			} else if status != 403 || strings.Contains(body, "Parameters") {
				t.Errorf("allowed_params on a hidden tool: %d %s", status, body)
			}
		})
	}

	t.Run("401", func(t *testing.T) {
		for _, c := range []struct{ name, key, msg string }{
			{"no key", "", "Authentication required: send a gateway key in the x-litellm-api-key header"},
			{"unknown key", "sk-nobody-0123456789", "Authentication failed: invalid gateway key"},
			{"revoked key", "sk-revoked-0123456789", "Authentication failed: the gateway key has been revoked"},
		} {
			for _, body := range []string{
				`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`,
				`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
				`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"public-ping","arguments":{}}}`,
			} {
				h := map[string]string{}
				if c.key != "" {
					h["x-litellm-api-key"] = "Bearer " + c.key
				}
				status, hdr, resp := post(t, gw.Endpoint, []byte(body), h)
				if status != 401 || !strings.Contains(resp, c.msg) || !strings.Contains(resp, `"code":-32041`) ||
					hdr.Get("Www-Authenticate") != `ApiKey realm="mcpgw", header="x-litellm-api-key"` {
					t.Errorf("%s: %d %v %s", c.name, status, hdr, resp)
				}
				if c.key != "" && strings.Contains(resp, c.key) {
					t.Errorf("%s: the key is echoed: %s", c.name, resp)
				}
			}
		}
		// Authorization is the client's (forwarded to upstreams under the
		// credential rules), never a gateway key.
		status, _, _ := post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
			map[string]string{"Authorization": "Bearer sk-full-0123456789"})
		if status != 401 {
			t.Errorf("Authorization taken as a gateway key: %d", status)
		}
	})

	t.Run("403 endpoint", func(t *testing.T) {
		for _, path := range []string{"/jira/mcp", "/mcp/dev", "/mcp/nosuch"} {
			status, _, body := post(t, base+path, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`),
				map[string]string{"x-litellm-api-key": "sk-docs-0123456789"})
			if status != 403 || !strings.Contains(body, "Access denied: this key may not use the MCP servers of this endpoint") ||
				strings.Contains(body, "jira") || strings.Contains(body, "nosuch") {
				t.Errorf("%s: %d %s", path, status, body)
			}
		}
	})

	t.Run("decision log", func(t *testing.T) {
		callTool(t, gw.Endpoint, "sk-full-0123456789", "wiki-read_wiki_contents", `{"status":"s3cr3t-arg-value"}`)
		var log string
		waitFor(t, "the decision log", func() bool {
			b, _ := os.ReadFile(logPath)
			log = string(b)
			return strings.Contains(log, `"principal":"full"`) && strings.Contains(log, `"argument_names":["status"]`)
		})
		for _, secret := range []string{"s3cr3t-arg-value", "sk-full-0123456789", "sk-master-0123456789", "sk-revoked"} {
			if strings.Contains(log, secret) {
				t.Errorf("the decision log holds %q", secret)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
			if !json.Valid([]byte(line)) {
				t.Errorf("not a JSON line: %s", line)
			}
		}
	})

	t.Run("hot reload", func(t *testing.T) {
		// Revoke "full" and let "none" use jira: no restart.
		edited := strings.Replace(cfgText, "key_alias: full, key: sk-full-0123456789,", "key_alias: full, key: sk-full-0123456789, blocked: true,", 1)
		edited = strings.Replace(edited, "{key_alias: none, key: sk-none-0123456789}", "{key_alias: none, key: sk-none-0123456789, object_permission: {mcp_servers: [jira]}}", 1)
		if err := os.WriteFile(cfgPath, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the revocation", func() bool {
			status, _ := callTool(t, gw.Endpoint, "sk-full-0123456789", "public-ping", `{}`)
			return status == 401
		})
		waitFor(t, "the new permission", func() bool {
			return slices.Equal(listTools(t, base+"/mcp", map[string]string{"x-litellm-api-key": "sk-none-0123456789"}),
				[]string{"jira-get_ticket", "public-ping"})
		})
		if status, body := callTool(t, gw.Endpoint, "sk-none-0123456789", "jira-get_ticket", `{}`); status != 200 || !strings.Contains(body, "jira:get_ticket") {
			t.Errorf("new permission not callable: %d %s", status, body)
		}
	})
}

// listTools lists the tools at endpoint with an MCP client sending headers.
func listTools(t *testing.T, endpoint string, headers map[string]string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: headerRoundTripper(headers)}}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// callTool posts one tools/call with a gateway key and returns the status
// and body.
func callTool(t *testing.T, endpoint, key, tool, args string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, tool, args)
	status, _, resp := post(t, endpoint, []byte(body), map[string]string{"x-litellm-api-key": key})
	return status, resp
}

// TestArgumentLimits: through real Envoy, a call with 85,000 argument
// names gets a short 400 naming the limit (it took 1.6 s and answered
// 0.84 MB before), a call at the limit refused by allowed_params gets a
// short 403 that quotes three names and counts the rest, and calls
// within the limits still work.
func TestArgumentLimits(t *testing.T) {
	gw := gatewayUnder(t, fmt.Sprintf(`mcp_servers:
  wiki:
    url: %q
    allowed_params:
      read: [status]
gateway:
  max_request_body_bytes: 1048576
`, rawUpstream(t, "wiki", "read", "search")))
	args := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"p%05d":1`, i)
		}
		b.WriteByte('}')
		return b.String()
	}
	for _, tt := range []struct {
		name, tool, args string
		status, code     int
		msg              string
	}{
		{"85,000 names", "wiki-search", args(85000), 400, -32602, "invalid params: tool arguments over the gateway's limits: more than 256 argument names"},
		{"a name too long", "wiki-search", `{"` + strings.Repeat("n", 300) + `":1}`, 400, -32602, "an argument name of 300 bytes (at most 256)"},
		{"not an object", "wiki-search", `[1]`, 400, -32602, "invalid params: tool arguments are not a JSON object"},
		{"allowed_params refusal at the limit", "wiki-read", args(256), 403, -32043,
			"Parameters ['p00000', 'p00001', 'p00002'] and 253 more are not allowed for tool read. Allowed parameters: ['status']."},
		{"at the limit, no allowed_params", "wiki-search", args(256), 200, 0, "wiki:search"},
		{"allowed", "wiki-read", `{"status":"open"}`, 200, 0, "wiki:read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := callTool(t, gw.Endpoint, "", tt.tool, tt.args)
			if status != tt.status || !strings.Contains(body, tt.msg) {
				t.Fatalf("%d %.300s; want %d with %q", status, body, tt.status, tt.msg)
			}
			if tt.code != 0 && (!strings.Contains(body, fmt.Sprintf(`"code":%d`, tt.code)) || len(body) > 600) {
				t.Errorf("%d bytes: %.300s; want a short JSON-RPC error %d", len(body), body, tt.code)
			}
		})
	}
}
