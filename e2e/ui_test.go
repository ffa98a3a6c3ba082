package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/gateway"
)

// xssPayload is the description of a hostile upstream's tool.
const xssPayload = `<img src=x onerror=alert(1)><script>alert(2)</script>`

// hostileUpstream serves one tool, steal, whose description and input
// schema carry an XSS payload.
func hostileUpstream(t *testing.T) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "hostile", Version: "1"}, nil)
	schema := fmt.Sprintf(`{"type":"object","properties":{"q":{"type":"string","description":%q}}}`, xssPayload)
	srv.AddTool(&mcp.Tool{Name: "steal", Description: xssPayload, InputSchema: json.RawMessage(schema)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "x"}}}, nil
		})
	return serveMCP(t, srv, true)
}

// runUIJourney runs e2e/clients/ui_journey.mjs for one phase and decodes
// the JSON line it prints.
func runUIJourney(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, requireEnv(t, "MCPGW_NODE"), "ui_journey.mjs")
	cmd.Dir = "clients"
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ui_journey.mjs (%s): %v\n%s", env["UI_PHASE"], err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var out map[string]string
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("ui_journey.mjs printed %q: %v", stdout.String(), err)
	}
	return out
}

// TestUI drives the admin web UI in headless Chromium (Playwright)
// through real Envoy: sign in, test connections of unsaved servers, add
// a Streamable HTTP and a stdio server, see their tools, restrict one and
// another's allowed_params, create a key bound to an access group, read
// it once and Try its tools through the gateway; then a real MCP client with that key sees exactly the
// group's tools, the UI blocks the key, and the client gets 401. The
// script also checks that a hostile upstream's tool description is shown
// as text (no dialog fires) and that a POST without the CSRF token is
// refused. MCPGW_UI_SCREENSHOTS=dir keeps its screenshots (docs/screenshots
// holds the committed ones). Failed sign-ins through Envoy are limited
// by the address Envoy saw, not the one a client claims.
func TestUI(t *testing.T) {
	chromium := requireEnv(t, "MCPGW_CHROMIUM")
	if _, err := os.Stat("clients/node_modules/playwright-core"); err != nil {
		if os.Getenv("MCPGW_REQUIRE_ENVOY") == "1" {
			t.Fatalf("playwright-core is not installed in e2e/clients (make e2e-clients installs it): %v", err)
		}
		t.Skip("playwright-core is not installed in e2e/clients; run through make test")
	}
	base := startUpstream(t, "base", false, "ping")
	weather := startUpstream(t, "weather", false, "forecast", "alerts")
	hostile := hostileUpstream(t)
	node, memory := nodeServer(t, "MCPGW_SERVER_MEMORY")
	inst, _ := cpGateway(t, fmt.Sprintf(cpConfig, base.URL), "sqlite:"+filepath.Join(t.TempDir(), "mcpgw.db"), gateway.Options{})

	shots := os.Getenv("MCPGW_UI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if shots, _ = filepath.Abs(shots); shots == "" {
		t.Fatal("MCPGW_UI_SCREENSHOTS")
	}
	env := map[string]string{
		"UI_BASE": strings.TrimSuffix(inst.Endpoint, "/mcp"), "UI_MASTER": cpMaster, "MCPGW_CHROMIUM": chromium,
		"UI_WEATHER_URL": weather.URL, "UI_XSS_URL": hostile, "UI_STDIO_COMMAND": node, "UI_STDIO_ARG": memory,
		"UI_SCREENSHOTS": shots, "UI_PHASE": "journey",
	}
	out := runUIJourney(t, env)
	key := out["key"]
	if !strings.HasPrefix(key, "sk-") {
		t.Fatalf("the journey read no key: %v", out)
	}

	// The key, from a real MCP client through Envoy configured with the
	// client config copied from the UI (its URL and header): exactly the
	// group's tools (alerts was disallowed in the UI), and a call works.
	if out["config_url"] != inst.Endpoint || out["config_header"] != "Bearer "+key {
		t.Fatalf("the copied config: url %q (want %q), header with the key: %v", out["config_url"], inst.Endpoint, out["config_header"] == "Bearer "+key)
	}
	waitFor(t, "the key made in the UI to list the group's tools", func() bool {
		return slices.Equal(listTools(t, out["config_url"], map[string]string{"x-litellm-api-key": out["config_header"]}), []string{"weather-forecast"})
	})
	cs := connectWithKey(t, inst.Endpoint, key)
	if got := mustText(t, cs, "weather-forecast", map[string]any{"text": "sun"}); !strings.Contains(got, "sun") {
		t.Errorf("weather-forecast answered %q", got)
	}
	if status, _ := callTool(t, inst.Endpoint, key, "weather-alerts", `{}`); status == http.StatusOK {
		t.Error("the key called the tool the UI disallowed")
	}
	// allowed_params set in the UI: forecast takes only text.
	if status, body := callTool(t, inst.Endpoint, key, "weather-forecast", `{"text":"x","limit":1}`); status != http.StatusForbidden ||
		!strings.Contains(body, "Parameters ['limit'] are not allowed for tool forecast") {
		t.Errorf("a parameter outside the allowed_params set in the UI: %d %s", status, body)
	}
	// Try it showed the refusal of a tool the key does not see, as the
	// client gets it.
	if !strings.HasPrefix(out["tryit_denied_status"], "HTTP 403") || !strings.Contains(out["tryit_denied"], "-32043: Access denied: tool weather-alerts is not available to this key") {
		t.Errorf("Try it's refusal of weather-alerts: %q %q", out["tryit_denied_status"], out["tryit_denied"])
	}
	status, body := callTool(t, inst.Endpoint, key, "weather-alerts", `{}`)
	if status != http.StatusForbidden || !strings.Contains(body, "Access denied: tool weather-alerts is not available to this key") {
		t.Errorf("a client's call of weather-alerts: %d %s (Try it showed the same)", status, body)
	}

	// Blocked in the UI: the client gets 401.
	env["UI_PHASE"] = "block"
	runUIJourney(t, env)
	waitFor(t, "the blocked key to get 401", func() bool {
		status, _ := callTool(t, inst.Endpoint, key, "weather-forecast", `{"text":"x"}`)
		return status == http.StatusUnauthorized
	})

	// The UI's paths are routed past ext_proc, to the UI only: an MCP
	// path stays MCP.
	resp, err := http.Get(strings.TrimSuffix(inst.Endpoint, "/mcp") + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("GET /ui/login through Envoy: %d %v", resp.StatusCode, resp.Header)
	}

	// Failed sign-ins through Envoy are limited per client address: the
	// one Envoy saw, whatever address the client claims.
	signIn := func(key, claim string) *http.Response {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(strings.TrimSuffix(inst.Endpoint, "/mcp") + "/ui/login")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the login page:\n%s", page)
		}
		req, _ := http.NewRequest("POST", strings.TrimSuffix(inst.Endpoint, "/mcp")+"/ui/login",
			strings.NewReader(url.Values{"csrf": {string(m[1])}, "key": {key}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Mcpgw-Client-Address", claim)
		req.Header.Set("X-Forwarded-For", claim)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 5 {
		if resp := signIn("sk-wrong", fmt.Sprintf("203.0.113.%d", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d", i, resp.StatusCode)
		}
	}
	if resp := signIn(cpMaster, "198.51.100.1"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the sixth sign-in, claiming another address: %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
