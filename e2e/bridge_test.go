package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// bridgeConfig: one server whose read_wiki_contents takes only "status"
// (allowed_params), and a key that may use it.
const bridgeConfig = `
general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  wiki:
    url: "%s"
    allowed_params:
      read_wiki_contents: [status]
  github:
    url: "%s"
access:
  keys:
    - {key_alias: agent, key: sk-agent-0123456789, object_permission: {mcp_servers: [wiki]}}
    - {key_alias: nowiki, key: sk-nowiki-0123456789, object_permission: {mcp_servers: [github]}}
`

// deniedParamsMessage is LiteLLM's allowed_params message, which its MCP
// server hands the model as "Error: <message>".
const deniedParamsMessage = "Parameters ['limit'] are not allowed for tool read_wiki_contents. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."

// fakeModel is a scripted OpenAI-compatible chat completions endpoint:
// each request gets the next scripted message as choices[0].message.
type fakeModel struct {
	mu       sync.Mutex
	script   []string
	requests []map[string]json.RawMessage
	auth     []string
}

func (m *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests = append(m.requests, req)
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	if len(m.script) == 0 {
		http.Error(w, `{"error":{"message":"script exhausted"}}`, http.StatusInternalServerError)
		return
	}
	msg := m.script[0]
	m.script = m.script[1:]
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","model":"fake","choices":[{"index":0,"message":%s,"finish_reason":"stop"}]}`, msg)
}

// buildAgent builds examples/agent once for the test.
func buildAgent(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "agent")
	if out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, "../examples/agent").CombinedOutput(); err != nil {
		t.Fatalf("build examples/agent: %v\n%s", err, out)
	}
	return bin
}

// TestExampleAgent runs examples/agent through real Envoy against a
// scripted model that asks for two tool calls, one of them denied by
// allowed_params, then answers: the denial reaches the model as a tool
// error with LiteLLM's message, the allowed call's result as its content.
func TestExampleAgent(t *testing.T) {
	wiki := rawUpstream(t, "wiki", "read_wiki_contents", "search")
	github := rawUpstream(t, "github", "list_issues")
	gw := gatewayUnder(t, fmt.Sprintf(bridgeConfig, wiki, github))
	agent := buildAgent(t)

	model := &fakeModel{script: []string{
		`{"role":"assistant","content":null,"tool_calls":[` +
			`{"id":"call_1","type":"function","function":{"name":"wiki-search","arguments":"{\"query\":\"envoy\"}"}},` +
			`{"id":"call_2","type":"function","function":{"name":"wiki-read_wiki_contents","arguments":"{\"status\":\"active\",\"limit\":10}"}}]}`,
		`{"role":"assistant","content":"The wiki search worked; reading the page needs the admin."}`,
	}}
	modelSrv := httptest.NewServer(model)
	defer modelSrv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, agent, "-gateway", gw.Endpoint, "-model-url", modelSrv.URL+"/v1", "-model", "fake-model", "Summarise the wiki page on Envoy")
	cmd.Env = append(cmd.Environ(), "MCPGW_KEY=sk-agent-0123456789", "OPENAI_API_KEY=sk-model-key")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("agent: %v\nstderr:\n%s", err, stderr.String())
	}
	if got := strings.TrimSpace(string(out)); got != "The wiki search worked; reading the page needs the admin." {
		t.Errorf("agent answered %q", got)
	}

	model.mu.Lock()
	defer model.mu.Unlock()
	if len(model.requests) != 2 {
		t.Fatalf("model asked %d times, want 2", len(model.requests))
	}
	for _, a := range model.auth {
		if a != "Bearer sk-model-key" {
			t.Errorf("model request Authorization %q", a)
		}
	}

	// First request: the key's tools, in Chat Completions' format.
	var tools []struct {
		Type     string
		Function struct {
			Name       string
			Parameters map[string]any
			Strict     *bool
		}
	}
	if err := json.Unmarshal(model.requests[0]["tools"], &tools); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools {
		names = append(names, tool.Function.Name)
		if tool.Type != "function" || tool.Function.Strict == nil || *tool.Function.Strict ||
			tool.Function.Parameters["type"] != "object" || tool.Function.Parameters["additionalProperties"] != false {
			t.Errorf("tool %+v", tool)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"wiki-read_wiki_contents", "wiki-search"}) {
		t.Errorf("tools offered %v (the key may use wiki only)", names)
	}

	// Second request: user, assistant with both calls, and one tool
	// message per call.
	var messages []struct {
		Role       string
		Content    *string
		ToolCallID string            `json:"tool_call_id"`
		ToolCalls  []json.RawMessage `json:"tool_calls"`
	}
	if err := json.Unmarshal(model.requests[1]["messages"], &messages); err != nil {
		t.Fatal(err)
	}
	if len(messages) != 4 || messages[0].Role != "user" || messages[1].Role != "assistant" || len(messages[1].ToolCalls) != 2 {
		t.Fatalf("messages: %s", model.requests[1]["messages"])
	}
	results := map[string]string{}
	for _, m := range messages[2:] {
		if m.Role != "tool" || m.Content == nil {
			t.Fatalf("not a tool message: %+v", m)
		}
		results[m.ToolCallID] = *m.Content
	}
	if results["call_1"] != "wiki:search" {
		t.Errorf("allowed call: the model got %q", results["call_1"])
	}
	if want := "Error: " + deniedParamsMessage; results["call_2"] != want {
		t.Errorf("denied call: the model got %q\nwant %q", results["call_2"], want)
	}
	if strings.Contains(stderr.String(), "sk-agent-0123456789") || strings.Contains(stderr.String(), "sk-model-key") {
		t.Errorf("the agent logged a key:\n%s", stderr.String())
	}
}
