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
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/bridge"
	"github.com/mcpgw/mcpgw/internal/gateway"
)

// bridgeConfig: wiki, whose read_wiki_contents takes only "status"
// (allowed_params), github, and a server that is down; a key that may use
// wiki and github, one that may use github only, one that may use none.
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
  broken:
    url: "http://127.0.0.1:1/mcp"
access:
  keys:
    - {key_alias: agent, key: sk-agent-0123456789, object_permission: {mcp_servers: [wiki, github]}}
    - {key_alias: nowiki, key: sk-nowiki-0123456789, object_permission: {mcp_servers: [github]}}
    - {key_alias: none, key: sk-none-0123456789}
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

// bridgeGateway starts the gateway on bridgeConfig: wiki's tools take
// any arguments and answer "wiki:<tool>"; github's list_issues takes
// {"text": string} and answers "github:list_issues:<text>".
func bridgeGateway(t *testing.T) *gateway.Instance {
	t.Helper()
	wiki := rawUpstream(t, "wiki", "read_wiki_contents", "search")
	github := startUpstream(t, "github", true, "list_issues")
	return gatewayUnder(t, fmt.Sprintf(bridgeConfig, wiki, github.URL))
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
	gw := bridgeGateway(t)
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
	if !slices.Equal(names, []string{"github-list_issues", "wiki-read_wiki_contents", "wiki-search"}) {
		t.Errorf("tools offered %v", names)
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

// TestLiteLLMBridge drives the gateway with LiteLLM's own Python bridge
// (litellm.experimental_mcp_client, pinned in clients/requirements.txt):
// load_mcp_tools(format="openai") lists exactly what package bridge lists
// for the same key, and call_openai_tool runs allowed calls, turns bad
// arguments into {}, and gets the allowed_params denial with LiteLLM's
// message.
func TestLiteLLMBridge(t *testing.T) {
	python := requireEnv(t, "MCPGW_PYTHON")
	gw := bridgeGateway(t)
	calls := `[
		{"id":"c1","type":"function","function":{"name":"wiki-search","arguments":"{\"query\":\"envoy\"}"}},
		{"id":"c2","type":"function","function":{"name":"github-list_issues","arguments":"{\"text\":\"from litellm\"}"}},
		{"id":"c3","type":"function","function":{"name":"github-list_issues","arguments":"{oops"}},
		{"id":"c4","type":"function","function":{"name":"wiki-read_wiki_contents","arguments":"{\"status\":\"active\",\"limit\":10}"}}
	]`
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "clients/litellm_bridge.py", gw.Endpoint, "sk-agent-0123456789", calls)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("litellm bridge: %v\nstderr:\n%s", err, stderr.String())
	}
	var got struct {
		Tools   []json.RawMessage
		Results []struct {
			IsError   *bool `json:"is_error"`
			Text      []string
			Exception string
			Message   string
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}

	// The tools: what LiteLLM gives and what package bridge gives are the
	// same JSON.
	cs := connectWithKey(t, gw.Endpoint, "sk-agent-0123456789")
	ts, err := bridge.List(ctx, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := json.Marshal(ts.ChatCompletionsTools())
	theirs, _ := json.Marshal(got.Tools)
	if !jsonEqual(t, ours, theirs) {
		t.Errorf("tools differ:\nbridge:  %s\nlitellm: %s", ours, theirs)
	}
	if len(got.Tools) != 3 {
		t.Errorf("litellm listed %d tools: %s", len(got.Tools), theirs)
	}

	if len(got.Results) != 4 {
		t.Fatalf("results: %s", out)
	}
	ok := func(i int, text string) {
		r := got.Results[i]
		if r.IsError == nil || *r.IsError || !slices.Equal(r.Text, []string{text}) {
			t.Errorf("call %d: %+v, want %q", i+1, r, text)
		}
	}
	ok(0, "wiki:search")
	ok(1, "github:list_issues:from litellm")
	// "{oops" is sent as {}: the server's own validation answers.
	if r := got.Results[2]; r.IsError == nil || !*r.IsError || len(r.Text) != 1 || !strings.Contains(r.Text[0], "text") {
		t.Errorf("bad arguments: %+v", r)
	}
	// The gateway answers the denial as a JSON-RPC error (403, -32043), so
	// call_openai_tool raises with LiteLLM's message.
	if r := got.Results[3]; r.Exception != "MCPError" || r.Message != deniedParamsMessage {
		t.Errorf("denied call: %+v\nwant MCPError %q", r, deniedParamsMessage)
	}
}

// connectWithKey opens a go-sdk client session through the gateway
// sending a gateway key.
func connectWithKey(t *testing.T, endpoint, key string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: endpoint, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: headerRoundTripper(map[string]string{"x-litellm-api-key": key})},
	}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
