package aggregate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// TestListingAsksThePolicy: with an authorizer, each caller lists only
// what the policy lets it call, and the sidecar refuses the rest when it
// serves a call itself.
func TestListingAsksThePolicy(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	beta := newUpstream(t, "beta", true)
	beta.up.DisallowedTools = []string{"add"}
	cfg, err := configfile.Parse([]byte(`
mcp_servers:
  alpha: {url: "https://alpha.example/mcp"}
  beta: {url: "https://beta.example/mcp", disallowed_tools: [add]}
access:
  decision_log: {output: "off"}
  keys:
    - {key_alias: echoer, key: sk-echoer, object_permission: {mcp_servers: [alpha], mcp_tool_permissions: {alpha: [echo]}}}
    - {key_alias: betas, key: sk-betas, object_permission: {mcp_servers: [beta]}}
`), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, endpoint := sidecarFor(t, Options{Authorizer: engine}, alpha.up, beta.up)
	session := func(key string) *mcp.ClientSession {
		c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
		cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: endpoint,
			HTTPClient: &http.Client{Transport: headerTransport{"X-Litellm-Api-Key": key}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	for key, want := range map[string][]string{
		"sk-echoer": {"alpha-echo"},
		"sk-betas":  {"beta-echo", "beta-word_count"},
	} {
		cs := session(key)
		testutil.Eventually(t, "the listing of "+key, func() bool { return slices.Equal(listNames(t, cs), want) })
	}

	cs := session("sk-echoer")
	call := func(name string) error {
		_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: map[string]any{"text": "x"}})
		return err
	}
	if err := call("alpha-echo"); err != nil {
		t.Errorf("alpha-echo: %v", err)
	}
	var werr *jsonrpc.Error
	if err := call("alpha-add"); !errors.As(err, &werr) || werr.Code != -32043 {
		t.Errorf("alpha-add: %v", err)
	}
	if err := call("beta-echo"); err == nil {
		t.Error("beta-echo callable by a key without beta")
	}

	// Without a key (never the case behind Envoy, which answers 401
	// first) even initialize is refused.
	c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	_, err = c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: endpoint}, nil)
	if err == nil || !strings.Contains(err.Error(), "Authentication required") {
		t.Errorf("no key: %v", err)
	}
}

// prompts/get and resources/read the sidecar serves itself (legacy SSE
// clients, upstreams Envoy cannot reach) ask the same policy question as
// the router: a custom rule that hides a prompt or a resource holds here
// too.
func TestFallbackAsksThePolicy(t *testing.T) {
	rich := richUpstream(t, "rich")
	dir := t.TempDir()
	rule := "package mcpgw.custom\n\nimport rego.v1\n\n" +
		"deny contains \"no p1\" if input.tool.name == \"p1\"\n\n" +
		"deny contains {\"reason\": \"r2\", \"hidden\": true} if input.tool.name == \"test://r2\"\n"
	if err := os.WriteFile(filepath.Join(dir, "deny.rego"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configfile.Parse([]byte(`
mcp_servers:
  rich: {url: "https://rich.example/mcp"}
access:
  decision_log: {output: "off"}
  policy_dir: `+dir+`
`), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, endpoint := sidecarFor(t, Options{Authorizer: engine}, rich.up)
	cs := connect(t, endpoint, nil, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	ctx := t.Context()
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "rich-p0"}); err != nil {
		t.Errorf("rich-p0: %v", err)
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "rich-p1"}); err == nil || !strings.Contains(err.Error(), "Access denied by policy") {
		t.Errorf("rich-p1 (denied by a custom rule): %v", err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "mcpgw://rich/test://r1"}); err != nil {
		t.Errorf("r1: %v", err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "mcpgw://rich/test://r2"}); err == nil || !strings.Contains(err.Error(), "Unknown resource: mcpgw://rich/test://r2") {
		t.Errorf("r2 (hidden by a custom rule): %v", err)
	}
}

// TestToolsFor: the admin API's tool list for a key is the tools/list the
// same key gets on /mcp (a key bound to one server sees that server's
// tools, within its tool permissions; the master key sees every tool),
// and a forged sidecar path header cannot narrow the policy's view.
func TestToolsFor(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	beta := newUpstream(t, "beta", true)
	cfg, err := configfile.Parse([]byte(`
general_settings: {master_key: sk-master}
mcp_servers:
  alpha: {url: "https://alpha.example/mcp"}
  beta: {url: "https://beta.example/mcp"}
access:
  decision_log: {output: "off"}
  keys:
    - {key_alias: echoer, key: sk-echoer, object_permission: {mcp_servers: [alpha], mcp_tool_permissions: {alpha: [echo]}}}
    - {key_alias: betas, key: sk-betas, object_permission: {mcp_servers: [beta]}}
    - {key_alias: gone, key: sk-gone, blocked: true, object_permission: {mcp_servers: [beta]}}
`), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, endpoint := sidecarFor(t, Options{Authorizer: engine}, alpha.up, beta.up)
	tokenOf := func(k string) string { return identity.Hash(k).String() }
	names := func(h http.Header) []string {
		tools, err := srv.ToolsFor(h)
		if err != nil {
			t.Fatalf("ToolsFor: %v", err)
		}
		var out []string
		for _, tl := range tools {
			out = append(out, tl.Name)
		}
		return out
	}
	key := func(k string) http.Header { return http.Header{"X-Litellm-Api-Key": {k}} }
	for k, want := range map[string][]string{
		"sk-echoer": {"alpha-echo"},
		"sk-betas":  {"beta-add", "beta-echo", "beta-word_count"},
		"sk-master": {"alpha-add", "alpha-echo", "alpha-word_count", "beta-add", "beta-echo", "beta-word_count"},
	} {
		testutil.Eventually(t, "the tools of "+k, func() bool {
			got := names(key(k))
			slices.Sort(got)
			return slices.Equal(got, want)
		})
		// The same as tools/list on the aggregated endpoint.
		c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil)
		cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: endpoint,
			HTTPClient: &http.Client{Transport: headerTransport{"X-Litellm-Api-Key": k}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		listed := listNames(t, cs)
		cs.Close()
		slices.Sort(listed)
		if !slices.Equal(listed, want) {
			t.Errorf("%s: tools/list %v, ToolsFor %v", k, listed, want)
		}
		// By token (the admin UI's effective access): the same decision.
		byToken, err := srv.ToolsForToken(tokenOf(k))
		if err != nil {
			t.Fatalf("ToolsForToken %s: %v", k, err)
		}
		var got []string
		for _, tl := range byToken {
			got = append(got, tl.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: ToolsForToken %v, tools/list %v", k, got, want)
		}
	}
	for token, reason := range map[string]string{tokenOf("sk-gone"): "revoked", tokenOf("sk-unknown"): "invalid", "not-hex": "invalid"} {
		var werr *jsonrpc.Error
		if _, err := srv.ToolsForToken(token); !errors.As(err, &werr) || !strings.Contains(werr.Message, reason) {
			t.Errorf("ToolsForToken(%.12s): %v, want a 401 saying %q", token, err, reason)
		}
	}

	forged := key("sk-betas")
	forged.Set(pathHeader, "/alpha/mcp")
	if got := names(forged); len(got) != 3 || !strings.HasPrefix(got[0], "beta-") {
		t.Errorf("forged path header: %v", got)
	}
	var werr *jsonrpc.Error
	if _, err := srv.ToolsFor(key("sk-unknown")); !errors.As(err, &werr) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := srv.ToolsFor(nil); err == nil {
		t.Error("no key: listed")
	}
}

// countingAuthorizer counts the policy's questions about listed tools.
type countingAuthorizer struct {
	*policy.Engine
	visible atomic.Int64
}

func (a *countingAuthorizer) Visible(req policy.Request) bool {
	if req.Method == "tools/list" {
		a.visible.Add(1)
	}
	return a.Engine.Visible(req)
}

// TestFilteredListsAreReusedUntilSomethingChanges: a caller's next list
// does not ask the policy about every tool again, and still follows a
// policy reload and a change of an upstream's tools.
func TestFilteredListsAreReusedUntilSomethingChanges(t *testing.T) {
	alpha := newUpstream(t, "alpha", false)
	const src = `
mcp_servers:
  alpha: {url: "https://alpha.example/mcp"}
access:
  decision_log: {output: "off"}
  keys:
    - {key_alias: echoer, key: sk-echoer, object_permission: {mcp_servers: [alpha], mcp_tool_permissions: {alpha: [%s]}}}
    - {key_alias: all, key: sk-all, object_permission: {mcp_servers: [alpha]}}
`
	parse := func(tools string) *config.Config {
		cfg, err := configfile.Parse(fmt.Appendf(nil, src, tools), "test.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	engine, err := policy.New(t.Context(), parse("echo"), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	authz := &countingAuthorizer{Engine: engine}
	_, endpoint := sidecarFor(t, Options{Authorizer: authz}, alpha.up)
	session := func(key string) *mcp.ClientSession {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(t.Context(),
			&mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: headerTransport{"X-Litellm-Api-Key": key}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs
	}
	cs, all := session("sk-echoer"), session("sk-all")
	testutil.Eventually(t, "every tool", func() bool { return len(listNames(t, all)) == 3 })
	testutil.Eventually(t, "the first listing", func() bool { return slices.Equal(listNames(t, cs), []string{"alpha-echo"}) })

	asked := authz.visible.Load()
	if asked < 3 {
		t.Fatalf("the first listing asked about %d tools; the upstream has 3", asked)
	}
	for range 3 {
		if got := listNames(t, cs); !slices.Equal(got, []string{"alpha-echo"}) {
			t.Fatalf("listing %v", got)
		}
	}
	if n := authz.visible.Load() - asked; n != 0 {
		t.Errorf("3 more listings asked the policy about %d tools; want 0 (the filtered list is reused)", n)
	}

	if err := engine.Reload(t.Context(), parse("echo, add")); err != nil {
		t.Fatal(err)
	}
	if got := listNames(t, cs); !slices.Equal(got, []string{"alpha-add", "alpha-echo"}) {
		t.Errorf("after a policy reload: %v", got)
	}

	// A new tool upstream, the policy unchanged: the key that may use
	// every tool of alpha sees it, the restricted one does not.
	mcp.AddTool(alpha.srv, &mcp.Tool{Name: "add_more"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	testutil.Eventually(t, "the new tool", func() bool { return slices.Contains(listNames(t, all), "alpha-add_more") })
	if got := listNames(t, cs); !slices.Equal(got, []string{"alpha-add", "alpha-echo"}) {
		t.Errorf("restricted key after a new tool: %v", got)
	}
}
