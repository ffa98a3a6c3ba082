package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams/openapi/petstore"
)

// The npm reference servers run by these tests are pinned in
// clients/package.json; make test passes their bin paths.

// nodeServer returns the command and leading args that run the reference
// server whose bin path is in env var name, with the Node.js make test
// installed (MCPGW_NODE) or the one on PATH.
func nodeServer(t *testing.T, name string) (string, string) {
	t.Helper()
	script := requireEnv(t, name)
	node := os.Getenv("MCPGW_NODE")
	if node == "" {
		var err error
		if node, err = exec.LookPath("node"); err != nil {
			t.Skip("no node")
		}
	}
	return node, script
}

// childPIDs returns the ids of this process's children whose command
// line contains substr: the stdio servers the gateway started.
func childPIDs(t *testing.T, substr string) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != strconv.Itoa(self) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(string(cmdline), substr) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

func pidAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i+2 < len(s) && s[i+2] != 'Z'
}

// callText calls a tool through the gateway and returns its text.
func callText(ctx context.Context, cs *mcp.ClientSession, tool string, args any) (string, *mcp.CallToolResult, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", nil, err
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n"), res, nil
}

func mustText(t *testing.T, cs *mcp.ClientSession, tool string, args any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	text, res, err := callText(ctx, cs, tool, args)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	if res.IsError {
		t.Fatalf("%s: tool error: %s", tool, text)
	}
	return text
}

// waitTools waits until the gateway lists every tool in want.
func waitTools(t *testing.T, cs *mcp.ClientSession, want ...string) []string {
	t.Helper()
	var names []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		names = names[:0]
		for tool, err := range cs.Tools(context.Background(), nil) {
			if err != nil {
				t.Fatalf("tools/list: %v", err)
			}
			names = append(names, tool.Name)
		}
		missing := slices.DeleteFunc(slices.Clone(want), func(w string) bool { return slices.Contains(names, w) })
		if len(missing) == 0 {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("tools %v never listed; got %v", missing, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitAccessLog(t *testing.T, path string, clusters ...string) {
	t.Helper()
	waitFor(t, "access log lines for "+strings.Join(clusters, ", "), func() bool {
		b, _ := os.ReadFile(path)
		for _, c := range clusters {
			if !strings.Contains(string(b), `"upstream_cluster":"`+c+`"`) {
				return false
			}
		}
		return true
	})
}

// TestStdioReferenceServers runs the npm reference servers over stdio
// behind the gateway: tools are listed with alias prefixes, calls go
// through Envoy to each server's adapter cluster, children see no gateway
// secret, and closing the gateway leaves no process behind.
func TestStdioReferenceServers(t *testing.T) {
	node, everything := nodeServer(t, "MCPGW_SERVER_EVERYTHING")
	_, memory := nodeServer(t, "MCPGW_SERVER_MEMORY")
	_, filesystem := nodeServer(t, "MCPGW_SERVER_FILESYSTEM")
	dir := t.TempDir()
	t.Setenv("MCPGW_E2E_GATEWAY_SECRET", "must-not-leak")
	gw := gatewayUnder(t, fmt.Sprintf(`mcp_servers:
  everything:
    transport: stdio
    command: %q
    args: [%q, stdio]
  memory:
    transport: stdio
    command: %q
    args: [%q]
    env:
      MEMORY_FILE_PATH: %q
  files:
    transport: stdio
    command: %q
    args: [%q, %q]
    startup: eager
gateway:
  max_request_body_bytes: 65536
`, node, everything, node, memory, filepath.Join(dir, "memory.jsonl"), node, filesystem, dir))
	cs := connect(t, gw.Endpoint)
	waitTools(t, cs, "everything-echo", "everything-get-sum", "memory-create_entities", "memory-read_graph",
		"files-write_file", "files-read_text_file", "files-list_directory")

	if got := mustText(t, cs, "everything-echo", map[string]any{"message": "hello"}); got != "Echo: hello" {
		t.Errorf("everything-echo = %q", got)
	}
	if got := mustText(t, cs, "everything-get-sum", map[string]any{"a": 2, "b": 3}); !strings.Contains(got, "5") {
		t.Errorf("everything-get-sum = %q", got)
	}
	if got := mustText(t, cs, "everything-get-env", map[string]any{}); strings.Contains(got, "MCPGW_E2E_GATEWAY_SECRET") || !strings.Contains(got, "PATH") {
		t.Errorf("the stdio child's environment is not the minimal one: %.300s", got)
	}
	mustText(t, cs, "memory-create_entities", map[string]any{"entities": []map[string]any{
		{"name": "mcpgw", "entityType": "project", "observations": []string{"routes MCP through Envoy"}},
	}})
	if got := mustText(t, cs, "memory-read_graph", map[string]any{}); !strings.Contains(got, "routes MCP through Envoy") {
		t.Errorf("memory-read_graph = %q", got)
	}
	file := filepath.Join(dir, "hello.txt")
	mustText(t, cs, "files-write_file", map[string]any{"path": file, "content": "hi from mcpgw"})
	if got := mustText(t, cs, "files-read_text_file", map[string]any{"path": file}); got != "hi from mcpgw" {
		t.Errorf("files-read_text_file = %q", got)
	}
	if got := mustText(t, cs, "files-list_directory", map[string]any{"path": dir}); !strings.Contains(got, "[FILE] hello.txt") {
		t.Errorf("files-list_directory = %q", got)
	}
	// The calls went through Envoy to the adapters' clusters.
	waitAccessLog(t, gw.AccessLogPath, "mcp_upstream_everything", "mcp_upstream_memory", "mcp_upstream_files")

	// A stdio server's prompts and resources are served too: listed with
	// the alias, fetched through Envoy from the process.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, "everything's prompts", func() bool {
		res, err := cs.ListPrompts(ctx, nil)
		return err == nil && slices.ContainsFunc(res.Prompts, func(p *mcp.Prompt) bool { return p.Name == "everything-args-prompt" })
	})
	prompt, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "everything-args-prompt", Arguments: map[string]string{"city": "Lisbon"}})
	if err != nil || len(prompt.Messages) == 0 || !strings.Contains(prompt.Messages[0].Content.(*mcp.TextContent).Text, "Lisbon") {
		t.Fatalf("prompts/get everything-args-prompt: %v %+v", err, prompt)
	}
	var doc, template string
	for r, err := range cs.Resources(ctx, nil) {
		if err != nil {
			t.Fatalf("resources/list: %v", err)
		}
		if r.Name == "everything-architecture.md" {
			doc = r.URI
		}
	}
	for rt, err := range cs.ResourceTemplates(ctx, nil) {
		if err != nil {
			t.Fatalf("resources/templates/list: %v", err)
		}
		if rt.Name == "everything-Dynamic Text Resource" {
			template = rt.URITemplate
		}
	}
	if doc == "" || template == "" {
		t.Fatalf("everything's resources not listed: document %q, template %q", doc, template)
	}
	for _, uri := range []string{doc, strings.Replace(template, "{resourceId}", "7", 1)} {
		read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
		if err != nil || len(read.Contents) == 0 || read.Contents[0].Text == "" {
			t.Fatalf("resources/read %s: %v %+v", uri, err, read)
		}
	}
	t.Logf("read %s and the template %s", doc, template)
	// Completions reach the process through its adapter.
	done, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "everything-completable-prompt"},
		Argument: mcp.CompleteParamsArgument{Name: "department", Value: "E"}})
	if err != nil || len(done.Completion.Values) == 0 {
		t.Errorf("completion/complete everything-completable-prompt: %v %+v", err, done)
	} else {
		t.Logf("completions for department E: %v", done.Completion.Values)
	}

	pids := childPIDs(t, "mcp-server-")
	if len(pids) < 3 {
		t.Fatalf("reference server processes: %v", pids)
	}
	cs.Close()
	gw.Close()
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("stdio server process %d outlived the gateway", pid)
		}
	}
}

// TestStdioCrashRestart kills a stdio server: callers get a clear error
// until it has been restarted, then calls work again on the new process.
func TestStdioCrashRestart(t *testing.T) {
	node, memory := nodeServer(t, "MCPGW_SERVER_MEMORY")
	gw := gatewayUnder(t, fmt.Sprintf(`mcp_servers:
  memory:
    transport: stdio
    command: %q
    args: [%q]
    env:
      MEMORY_FILE_PATH: %q
`, node, memory, filepath.Join(t.TempDir(), "memory.jsonl")))
	cs := connect(t, gw.Endpoint)
	waitTools(t, cs, "memory-read_graph")
	mustText(t, cs, "memory-read_graph", map[string]any{})
	pids := childPIDs(t, "server-memory")
	if len(pids) != 1 {
		t.Fatalf("memory server processes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the process to be gone", func() bool { return !pidAlive(pids[0]) })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var sawError string
	deadline := time.Now().Add(20 * time.Second)
	for {
		text, res, err := callText(ctx, cs, "memory-read_graph", map[string]any{})
		if err == nil && !res.IsError {
			break
		}
		if err != nil {
			sawError = err.Error()
		} else {
			sawError = text
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restart; last error: %s", sawError)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("while restarting, callers got: %s", sawError)
	if !strings.Contains(sawError, "stdio server memory") || !strings.Contains(sawError, "signal: killed") {
		t.Errorf("error while restarting = %q; want it to name the server and the crash", sawError)
	}
	if again := childPIDs(t, "server-memory"); len(again) != 1 || again[0] == pids[0] {
		t.Errorf("after the restart: processes %v (killed %d)", again, pids[0])
	}
}

// TestLegacySSEServer bridges server-everything in its legacy sse mode.
func TestLegacySSEServer(t *testing.T) {
	node, everything := nodeServer(t, "MCPGW_SERVER_EVERYTHING")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, everything, "sse")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitFor(t, "server-everything (sse) to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	gw := gatewayUnder(t, fmt.Sprintf("mcp_servers:\n  legacy:\n    url: %q\n    transport: sse\n", "http://"+addr+"/sse"))
	cs := connect(t, gw.Endpoint)
	waitTools(t, cs, "legacy-echo", "legacy-get-sum")
	if got := mustText(t, cs, "legacy-echo", map[string]any{"message": "over sse"}); got != "Echo: over sse" {
		t.Errorf("legacy-echo = %q", got)
	}
	if got := mustText(t, cs, "legacy-get-sum", map[string]any{"a": 40, "b": 2}); !strings.Contains(got, "42") {
		t.Errorf("legacy-get-sum = %q", got)
	}
	// Its prompts and resources come through the bridge too.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, "the legacy server's prompts", func() bool {
		res, err := cs.ListPrompts(ctx, nil)
		return err == nil && slices.ContainsFunc(res.Prompts, func(p *mcp.Prompt) bool { return p.Name == "legacy-simple-prompt" })
	})
	if p, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "legacy-simple-prompt"}); err != nil || len(p.Messages) == 0 {
		t.Errorf("prompts/get legacy-simple-prompt: %v %+v", err, p)
	}
	uri := "mcpgw://legacy/demo://resource/static/document/architecture.md"
	if r, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri}); err != nil || len(r.Contents) == 0 || r.Contents[0].Text == "" {
		t.Errorf("resources/read %s: %v %+v", uri, err, r)
	}
	waitAccessLog(t, gw.AccessLogPath, "mcp_upstream_legacy")
}

// startPetstore serves the Petstore stand-in under /api/v3.
func startPetstore(t *testing.T) (*petstore.Store, string) {
	store := petstore.New()
	mux := http.NewServeMux()
	mux.Handle("/api/v3/", http.StripPrefix("/api/v3", store))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return store, srv.URL + "/api/v3"
}

func petstoreConfig(t *testing.T, base string) string {
	spec, err := filepath.Abs("../upstreams/openapi/testdata/petstore-openapi3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`mcp_servers:
  petstore_mcp:
    url: %q
    spec_path: %q
    auth_type: api_key
    auth_value: special-key
`, base, spec)
}

// TestOpenAPIPetstore serves the Petstore OpenAPI 3.0 spec as tools on
// the aggregated endpoint, against the local stand-in.
func TestOpenAPIPetstore(t *testing.T) {
	store, base := startPetstore(t)
	gw := gatewayUnder(t, petstoreConfig(t, base))
	cs := connect(t, gw.Endpoint)
	waitTools(t, cs, "petstore_mcp-getpetbyid", "petstore_mcp-findpetsbystatus", "petstore_mcp-addpet")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	text, res, err := callText(ctx, cs, "petstore_mcp-getpetbyid", map[string]any{"petId": "1"})
	if err != nil || res.IsError || !strings.Contains(text, `"name":"doggie"`) {
		t.Fatalf("getpetbyid = %q, %v", text, err)
	}
	if sc, _ := res.StructuredContent.(map[string]any); sc["status"] != "available" {
		t.Errorf("structuredContent = %v", res.StructuredContent)
	}
	if got := store.Last(); got.RawPath != "/pet/1" || got.Header.Get("X-Api-Key") != "special-key" {
		t.Errorf("stand-in got %s with X-API-Key %q", got.RawPath, got.Header.Get("X-Api-Key"))
	}
	text, _, err = callText(ctx, cs, "petstore_mcp-findpetsbystatus", map[string]any{"status": "available"})
	var pets []map[string]any
	if err != nil || json.Unmarshal([]byte(text), &pets) != nil || len(pets) != 1 || pets[0]["name"] != "doggie" {
		t.Fatalf("findpetsbystatus = %q, %v", text, err)
	}
	text, res, _ = callText(ctx, cs, "petstore_mcp-getpetbyid", map[string]any{"petId": 42})
	if !res.IsError || !strings.HasPrefix(text, "HTTP 404 Not Found: ") {
		t.Errorf("missing pet = %q (isError %v)", text, res.IsError)
	}
	waitAccessLog(t, gw.AccessLogPath, "mcp_upstream_petstore_mcp")
}

// TestPythonPetstoreServerURL is the "must show": the Python mcp
// SDK on the per-server URL /petstore_mcp/mcp, with unprefixed names.
func TestPythonPetstoreServerURL(t *testing.T) {
	python := requireEnv(t, "MCPGW_PYTHON")
	_, base := startPetstore(t)
	gw := gatewayUnder(t, petstoreConfig(t, base))
	url := strings.TrimSuffix(gw.Endpoint, "/mcp") + "/petstore_mcp/mcp"
	// Discovery of the spec runs in the background; wait for the tools.
	waitTools(t, connect(t, url), "getpetbyid")
	for _, tc := range []struct{ tool, args, want string }{
		{"getpetbyid", `{"petId": "1"}`, `"name":"doggie"`},
		{"findpetsbystatus", `{"status": "available"}`, `"status":"available"`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, python, "clients/python_client.py", url, tc.tool, tc.args).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("python client: %v\n%s", err, out)
		}
		var got struct {
			Tools   []string
			IsError bool `json:"is_error"`
			Text    []string
		}
		line := strings.TrimSpace(string(out))
		if err := json.Unmarshal([]byte(line[strings.LastIndexByte(line, '\n')+1:]), &got); err != nil {
			t.Fatalf("python output %q: %v", out, err)
		}
		if len(got.Tools) != 19 || !slices.Contains(got.Tools, "getpetbyid") || slices.ContainsFunc(got.Tools, func(n string) bool { return strings.Contains(n, "petstore_mcp") }) {
			t.Errorf("python tools/list on %s = %v; want the 19 unprefixed Petstore tools", url, got.Tools)
		}
		if got.IsError || len(got.Text) != 1 || !strings.Contains(got.Text[0], tc.want) {
			t.Errorf("python %s = %+v", tc.tool, got)
		}
		t.Logf("python %s %s -> %.120s", tc.tool, tc.args, got.Text)
	}
}

// TestOpenAPIOAuth2 gives an OpenAPI server an OAuth2 client-credentials
// token: the REST API gets it on every call, the token endpoint is asked
// once, and the token appears in no log.
func TestOpenAPIOAuth2(t *testing.T) {
	store, base := startPetstore(t)
	tokens, tokenRequests := tokenServer(t, false)
	spec, err := filepath.Abs("../upstreams/openapi/testdata/petstore-openapi3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	gw, logs := gatewayWithLogs(t, fmt.Sprintf(`mcp_servers:
  petstore_mcp:
    url: %q
    spec_path: %q
    auth_type: oauth2
    oauth2_flow: client_credentials
    client_id: pets-client
    client_secret: pets-client-secret
    token_url: %q
`, base, spec, tokens.URL))
	cs := connect(t, gw.Endpoint)
	waitTools(t, cs, "petstore_mcp-getpetbyid")
	for range 3 {
		if got := mustText(t, cs, "petstore_mcp-getpetbyid", map[string]any{"petId": "1"}); !strings.Contains(got, "doggie") {
			t.Fatalf("getpetbyid = %q", got)
		}
		if auth := store.Last().Header.Get("Authorization"); auth != "Bearer oauth-token-secret-1" {
			t.Fatalf("the API got Authorization %q", auth)
		}
	}
	if n := tokenRequests.Load(); n != 1 {
		t.Errorf("token endpoint asked %d times, want 1", n)
	}
	for _, secret := range []string{"oauth-token-secret", "pets-client-secret"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a log line holds %q", secret)
		}
	}
}
