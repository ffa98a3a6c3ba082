package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

const cpMaster = "sk-cp-master-0123456789"

// databases returns the stores the control-plane tests run against:
// SQLite always, PostgreSQL when make test started one (a fresh database
// per test).
func databases(t *testing.T) map[string]func(t *testing.T) string {
	dbs := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "mcpgw.db") },
	}
	if admin := testutil.PostgresURL(t); admin != "" {
		dbs["postgres"] = func(t *testing.T) string { return testutil.FreshPostgres(t, admin) }
	}
	return dbs
}

// cpGateway starts a gateway whose config file is yamlText with the store
// at dbURL, and returns it with its logs.
func cpGateway(t *testing.T, yamlText, dbURL string, opts gateway.Options) (*gateway.Instance, *testutil.SyncBuffer) {
	t.Helper()
	env := map[string]string{"DATABASE_URL": dbURL, "STORE_MODEL_IN_DB": "True", "LITELLM_SALT_KEY": "e2e-salt-key-0123456789",
		"LITELLM_MCP_STDIO_EXTRA_COMMANDS": os.Getenv("MCPGW_NODE")}
	if opts.Port == 0 {
		opts.Port = mustFreePort(t)
	}
	return startGatewayEnv(t, yamlText, env, opts)
}

// adminCall sends one admin API request through Envoy with key.
func adminCall(t *testing.T, inst *gateway.Instance, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, out, err := adminRequest(inst, key, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

// adminRequest is adminCall for goroutines other than the test's: it
// returns the transport error instead of failing the test. A body that is
// not a JSON object is in the answer as "_raw".
func adminRequest(inst *gateway.Instance, key, method, path string, body any) (int, map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	base := strings.TrimSuffix(inst.Endpoint, "/mcp")
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		json.Unmarshal(raw, &out)
	} else {
		out = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, out, nil
}

func mustAdmin(t *testing.T, inst *gateway.Instance, method, path string, body any, want int) map[string]any {
	t.Helper()
	status, out := adminCall(t, inst, cpMaster, method, path, body)
	if status != want {
		t.Fatalf("%s %s: %d %v, want %d", method, path, status, out, want)
	}
	return out
}

// envoyHasCluster reports whether Envoy's config dump lists cluster name
// among the clusters it got over xDS.
func envoyHasCluster(t *testing.T, inst *gateway.Instance, name string) bool {
	t.Helper()
	resp, err := http.Get("http://" + inst.AdminAddr + "/config_dump?resource=dynamic_active_clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), `"name": "`+name+`"`)
}

const cpConfig = `general_settings:
  master_key: ` + cpMaster + `
mcp_servers:
  base:
    url: %q
gateway:
  discovery_ttl: 60
`

// TestControlPlane walks the journey through real Envoy, once per
// store: servers, keys added, changed and removed through LiteLLM's admin
// API take effect without a restart, and survive one.
func TestControlPlane(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) { controlPlaneJourney(t, db(t)) })
	}
}

func controlPlaneJourney(t *testing.T, dbURL string) {
	base := startUpstream(t, "base", false, "ping")
	weather := startUpstream(t, "weather", false, "forecast", "alerts")
	yamlText := fmt.Sprintf(cpConfig, base.URL)
	inst, _ := cpGateway(t, yamlText, dbURL, gateway.Options{})
	masterHeaders := map[string]string{"x-litellm-api-key": cpMaster}

	// A client with an open session, counting list_changed.
	var changed atomic.Int64
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed.Add(1) },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: inst.Endpoint, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: headerRoundTripper(masterHeaders)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	waitTools(t, cs, "base-ping")

	// (1) POST a Streamable HTTP server: list_changed, its tools, a call
	// through Envoy on a cluster that came over xDS.
	created := mustAdmin(t, inst, "POST", "/v1/mcp/server", map[string]any{
		"server_name": "weather", "url": weather.URL, "transport": "http",
		"mcp_access_groups": []string{"forecasts"},
	}, http.StatusCreated)
	serverID, _ := created["server_id"].(string)
	if serverID == "" {
		t.Fatalf("no server_id in %v", created)
	}
	waitFor(t, "list_changed after adding a server", func() bool { return changed.Load() > 0 })
	waitTools(t, cs, "weather-forecast", "weather-alerts")
	if got := mustText(t, cs, "weather-forecast", map[string]any{"text": "rain"}); !strings.Contains(got, "rain") {
		t.Errorf("weather-forecast answered %q", got)
	}
	if weather.Calls.Load() != 1 {
		t.Errorf("weather upstream saw %d calls, want 1", weather.Calls.Load())
	}
	if !envoyHasCluster(t, inst, "mcp_upstream_weather") {
		t.Error("Envoy's config dump has no dynamic cluster for the new server")
	}
	// (2) A stdio server and an OpenAPI server added through the API are
	// callable.
	node, memory := nodeServer(t, "MCPGW_SERVER_MEMORY")
	mustAdmin(t, inst, "POST", "/v1/mcp/server", map[string]any{
		"server_name": "memory", "transport": "stdio", "command": node, "args": []string{memory},
	}, http.StatusCreated)
	_, petBase := startPetstore(t)
	spec, _ := filepath.Abs("../upstreams/openapi/testdata/petstore-openapi3.yaml")
	mustAdmin(t, inst, "POST", "/v1/mcp/server", map[string]any{
		"server_name": "petstore", "url": petBase, "spec_path": spec, "transport": "http",
		"auth_type": "api_key", "credentials": map[string]any{"auth_value": "special-key"},
	}, http.StatusCreated)
	waitTools(t, cs, "memory-read_graph", "petstore-getinventory")
	if got := mustText(t, cs, "memory-read_graph", map[string]any{}); !strings.Contains(got, "entities") {
		t.Errorf("memory-read_graph answered %q", got)
	}
	mustText(t, cs, "petstore-getinventory", map[string]any{})

	// Its health is recorded as soon as it is served (not at the next
	// 30 s round).
	waitFor(t, "the new server's health", func() bool {
		_, got := adminCall(t, inst, cpMaster, "GET", "/v1/mcp/server/"+serverID, nil)
		return got["status"] == "healthy" && got["last_health_check"] != nil
	})

	// The stored server is listed with the config file's, read-only.
	list := mustAdmin(t, inst, "GET", "/v1/mcp/server", nil, http.StatusOK)
	if raw := fmt.Sprint(list); !strings.Contains(raw, "weather") || !strings.Contains(raw, "base") {
		t.Errorf("server list lacks one of the servers: %v", list)
	}
	status, out := adminCall(t, inst, cpMaster, "DELETE", "/v1/mcp/server/base", nil)
	if status != http.StatusConflict || !strings.Contains(fmt.Sprint(out), "config") {
		t.Errorf("deleting a config-file server: %d %v, want 409 naming the config file", status, out)
	}

	// (3) PUT allowed_tools takes effect.
	mustAdmin(t, inst, "PUT", "/v1/mcp/server", map[string]any{"server_id": serverID, "allowed_tools": []string{"forecast"}}, http.StatusAccepted)
	waitFor(t, "allowed_tools to hide weather-alerts", func() bool {
		names := listTools(t, inst.Endpoint, masterHeaders)
		return slices.Contains(names, "weather-forecast") && !slices.Contains(names, "weather-alerts")
	})
	if status, body := callTool(t, inst.Endpoint, cpMaster, "weather-alerts", `{}`); status == http.StatusOK && !strings.Contains(body, "error") {
		t.Errorf("a tool outside allowed_tools was called: %d %s", status, body)
	}

	// (5) A key bound to an access group sees and calls exactly the
	// group's tools.
	gen := mustAdmin(t, inst, "POST", "/key/generate", map[string]any{
		"key_alias": "forecaster", "object_permission": map[string]any{"mcp_access_groups": []string{"forecasts"}},
	}, http.StatusOK)
	key, _ := gen["key"].(string)
	if !strings.HasPrefix(key, "sk-") || len(key) < 40 {
		t.Fatalf("generated key %q", key)
	}
	keyHeaders := map[string]string{"x-litellm-api-key": key}
	waitFor(t, "the new key to work", func() bool {
		status, _ := callTool(t, inst.Endpoint, key, "weather-forecast", `{"text":"sun"}`)
		return status == http.StatusOK
	})
	if got := listTools(t, inst.Endpoint, keyHeaders); !slices.Equal(got, []string{"weather-forecast"}) {
		t.Errorf("the group's key lists %v, want [weather-forecast]", got)
	}
	if status, _ := callTool(t, inst.Endpoint, key, "base-ping", `{"text":"x"}`); status != http.StatusForbidden {
		t.Errorf("the group's key called a tool outside the group: %d", status)
	}
	// GET /v1/mcp/tools lists for each key what its tools/list shows
	// (the key sent as Authorization: Bearer, LiteLLM's form).
	for _, c := range []struct {
		key  string
		want []string
	}{{key, []string{"weather-forecast"}}, {cpMaster, listTools(t, inst.Endpoint, masterHeaders)}} {
		status, out := adminCall(t, inst, c.key, "GET", "/v1/mcp/tools", nil)
		if got := adminToolNames(out); status != http.StatusOK || !slices.Equal(got, c.want) {
			t.Errorf("GET /v1/mcp/tools as %.8s...: %d, %v, want %v", c.key, status, got, c.want)
		}
	}

	// (6) Restart: the state persists.
	inst.Close()
	inst, _ = cpGateway(t, yamlText, dbURL, gateway.Options{})
	if got := listTools(t, inst.Endpoint, keyHeaders); !slices.Equal(got, []string{"weather-forecast"}) {
		t.Errorf("after a restart the key lists %v", got)
	}

	// The key deleted: 401.
	mustAdmin(t, inst, "POST", "/key/delete", map[string]any{"keys": []string{key}}, http.StatusOK)
	if status, _ := callTool(t, inst.Endpoint, key, "weather-forecast", `{"text":"x"}`); status != http.StatusUnauthorized {
		t.Errorf("a deleted key: %d, want 401", status)
	}

	// (4) DELETE: tools gone, calls refused, cluster removed.
	mustAdmin(t, inst, "DELETE", "/v1/mcp/server/"+serverID, nil, http.StatusAccepted)
	if names := listTools(t, inst.Endpoint, masterHeaders); slices.Contains(names, "weather-forecast") {
		t.Errorf("a deleted server's tools are listed: %v", names)
	}
	if status, body := callTool(t, inst.Endpoint, cpMaster, "weather-forecast", `{"text":"x"}`); status == http.StatusOK && !strings.Contains(body, `"error"`) {
		t.Errorf("a deleted server's tool was called: %d %s", status, body)
	}
	waitFor(t, "Envoy to drop the deleted server's cluster", func() bool { return !envoyHasCluster(t, inst, "mcp_upstream_weather") })

	// No admin route without the master key, and none through MCP paths.
	if status, _ := adminCall(t, inst, "", "GET", "/v1/mcp/server", nil); status != http.StatusUnauthorized {
		t.Errorf("admin API without a key: %d, want 401", status)
	}
	if status, _ := adminCall(t, inst, key, "GET", "/key/list", nil); status != http.StatusUnauthorized && status != http.StatusForbidden {
		t.Errorf("admin API with a deleted user key: %d", status)
	}
	for _, p := range []string{"/mcp/../key/list", "/mcp/%2e%2e/key/list", "//key/list", "/key/list/..", "/weather/mcp/../../key/list"} {
		status, out := adminCall(t, inst, "", "GET", p, nil)
		if status == http.StatusOK || strings.Contains(fmt.Sprint(out), "keys") {
			t.Errorf("GET %s without a key reached the admin API: %d %v", p, status, out)
		}
	}
	adminAuthLimit(t, inst)
}

// adminAuthLimit: wrong keys through Envoy, each claiming another client
// address (x-mcpgw-client-address, x-forwarded-for), limit the address
// Envoy saw: its next try is a 429 even with the master key, while the
// master key from another peer address (127.0.0.2) still works. Last in
// a journey: this peer stays limited for a while.
func adminAuthLimit(t *testing.T, inst *gateway.Instance) {
	base := strings.TrimSuffix(inst.Endpoint, "/mcp")
	from := func(peer, key, claim string) (*http.Response, map[string]any) {
		t.Helper()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(peer)}}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		defer c.CloseIdleConnections()
		req, _ := http.NewRequest("GET", base+"/key/list", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Mcpgw-Client-Address", claim)
		req.Header.Set("X-Forwarded-For", claim)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	// At most 10 failures at once (admin.authLimit); one from before.
	for i := range 10 {
		resp, out := from("127.0.0.1", "sk-wrong-key", fmt.Sprintf("203.0.113.%d", i))
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d %v", i, resp.StatusCode, out)
		}
	}
	resp, out := from("127.0.0.1", cpMaster, "198.51.100.1")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		field(out, "error", "type") != "rate_limit_error" || strings.Contains(fmt.Sprint(out), cpMaster) {
		t.Errorf("the master key after wrong keys, claiming another address: %d (Retry-After %q) %v, want 429", resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if resp, out := from("127.0.0.2", cpMaster, "203.0.113.1"); resp.StatusCode != http.StatusOK {
		t.Errorf("the master key from another peer: %d %v, want 200", resp.StatusCode, out)
	}
}

// field is v's value at path (nested objects).
func field(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// adminToolNames are the sorted names of GET /v1/mcp/tools's answer.
func adminToolNames(out map[string]any) []string {
	tools, _ := out["tools"].([]any)
	var names []string
	for _, t := range tools {
		if m, ok := t.(map[string]any); ok {
			name, _ := m["name"].(string)
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
