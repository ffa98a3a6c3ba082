package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/gateway"
)

const fastPathConfig = `
general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  alpha:
    url: "%s"
    allowed_params:
      echo: [text]
access:
  decision_log: {output: %s}
  keys:
    - {key_alias: tools, key: sk-tools-0123456789, object_permission: {mcp_servers: [alpha], mcp_tool_permissions: {alpha: [echo]}}}
gateway:
  fast_path: %v
`

// accessLogLines are the access log's entries of tools/call requests
// (mcp_method, which both paths set; path is the upstream's on the fast
// path, and only 2026-07-28 clients send Mcp-Name).
func accessLogLines(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["mcp_method"] == "tools/call" {
			out = append(out, m)
		}
	}
	return out
}

// TestFastPath: a go-sdk client calls a server's own endpoint with a key
// that has tool permissions and allowed_params, at 2026-07-28 and at
// 2025-11-25 (with a gateway session, which Envoy opens itself). Its
// first call goes through
// ext_proc, which teaches Envoy the key's grant at that version;
// the next allowed calls are decided by Envoy (decided_by "envoy", with
// the key and tool, in the access log) with the same answers, and refused
// calls still get the full path's answers. Each call Envoy decided gets
// its decision line (decided_by "envoy") and is counted in
// mcpgw_policy_decisions_total, after the fact, from Envoy's gRPC access
// log.
func TestFastPath(t *testing.T) {
	for _, tc := range []struct{ version, path, prefix string }{
		{"2026-07-28", "/alpha/mcp", ""},
		{"2025-11-25", "/alpha/mcp", ""},
	} {
		t.Run(tc.version, func(t *testing.T) { testFastPath(t, tc.version, tc.path, tc.prefix) })
	}
}

// testFastPath is TestFastPath for a go-sdk client at version on path,
// where the upstream's tools are named with prefix.
func testFastPath(t *testing.T, version, path, prefix string) {
	// Stateless: go-sdk speaks 2026-07-28 so, and keeps no sessions for
	// older clients.
	up := startUpstream(t, "alpha", true, "echo", "shout")
	dir := t.TempDir()
	logFile, decisionFile := filepath.Join(dir, "access.log"), filepath.Join(dir, "decisions.log")
	inst, _ := startGateway(t, fmt.Sprintf(fastPathConfig, up.URL, decisionFile, true), gateway.Options{Port: mustFreePort(t), AccessLog: logFile})
	base := strings.TrimSuffix(inst.Endpoint, "/mcp")
	cs := keyedClient(t, base+path, "sk-tools-0123456789", version)
	if got := cs.InitializeResult().ProtocolVersion; got != version {
		t.Fatalf("negotiated %s, want %s", got, version)
	}
	if version < "2026-07-28" && cs.ID() == "" {
		t.Fatal("no gateway session")
	}
	ctx := t.Context()
	call := func(tool string, args map[string]any) (string, error) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: prefix + tool, Arguments: args})
		if err != nil {
			return "", err
		}
		return res.Content[0].(*mcp.TextContent).Text, nil
	}
	if got, err := call("echo", map[string]any{"text": "one"}); err != nil || got != "alpha:echo:one" {
		t.Fatalf("first call: %q %v", got, err)
	}
	waitFor(t, "a call decided by Envoy", func() bool {
		if got, err := call("echo", map[string]any{"text": "two"}); err != nil || got != "alpha:echo:two" {
			t.Fatalf("call: %q %v", got, err)
		}
		time.Sleep(250 * time.Millisecond) // the access log is written every 200 ms
		lines := accessLogLines(t, logFile)
		return len(lines) > 0 && lines[len(lines)-1]["decided_by"] == "envoy"
	})
	lines := accessLogLines(t, logFile)
	last := lines[len(lines)-1]
	if last["key_alias"] != "tools" || last["server"] != "alpha" || last["tool"] != "echo" || last["mcp_method"] != "tools/call" {
		t.Errorf("access log of a fast call: %v", last)
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"shout", map[string]any{"text": "x"}, "not available to this key"},
		{"echo", map[string]any{"text": "x", "loud": true}, "Parameters ['loud'] are not allowed for tool echo"},
	} {
		if got, err := call(tc.tool, tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %q %v, want an error %q", tc.tool, tc.args, got, err, tc.want)
		}
	}

	for i := range 3 {
		if _, err := call("echo", map[string]any{"text": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}

	// Every call the access log says Envoy decided has a decision line,
	// by request id; Envoy sends them about once a second.
	var fast, envoyLines, allows int
	waitFor(t, "the decision lines of the calls Envoy decided", func() bool {
		time.Sleep(250 * time.Millisecond)
		ids := map[string]bool{}
		for _, l := range accessLogLines(t, logFile) {
			if l["decided_by"] == "envoy" {
				ids[l["request_id"].(string)] = true
			}
		}
		fast, envoyLines, allows = len(ids), 0, 0
		data, _ := os.ReadFile(decisionFile)
		for _, l := range jsonLines(t, data) {
			if l["decision"] == "allow" {
				allows++
			}
			if l["decided_by"] != "envoy" {
				continue
			}
			envoyLines++
			if ids[l["request_id"].(string)] {
				delete(ids, l["request_id"].(string))
			}
			for k, v := range map[string]any{"principal": "tools", "method": "tools/call", "server": "alpha", "tool": "echo", "decision": "allow", "reason": "allowed"} {
				if l[k] != v {
					t.Fatalf("decision line of a fast call: %s = %v, want %v: %v", k, l[k], v, l)
				}
			}
		}
		return fast >= 4 && len(ids) == 0
	})
	if envoyLines != fast {
		t.Errorf("%d decision lines decided by Envoy, %d calls in the access log", envoyLines, fast)
	}
	// Each decision line is counted, Envoy's with the others.
	waitFor(t, "the decision metrics", func() bool {
		_, text := opsGet(inst.OpsAddr, "/metrics")
		return metricValue(text, "mcpgw_policy_decisions_total", map[string]string{"decision": "allow"}) == float64(allows)
	})
}
