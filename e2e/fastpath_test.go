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
  keys:
    - {key_alias: tools, key: sk-tools-0123456789, object_permission: {mcp_servers: [alpha], mcp_tool_permissions: {alpha: [echo]}}}
gateway:
  fast_path: %v
`

// accessLogLines are the access log's entries for path.
func accessLogLines(t *testing.T, file, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["mcp_name"] != nil {
			out = append(out, m)
		}
	}
	return out
}

// TestFastPath: a go-sdk client (2026-07-28) calls a server's own
// endpoint with a key that has tool permissions and allowed_params. Its
// first call goes through ext_proc, which teaches Envoy the key's grant;
// the next allowed calls are decided by Envoy (decided_by "envoy", with
// the key and tool, in the access log) with the same answers, and refused
// calls still get the full path's answers.
func TestFastPath(t *testing.T) {
	// Stateless: go-sdk speaks 2026-07-28 only so.
	up := startUpstream(t, "alpha", true, "echo", "shout")
	logFile := filepath.Join(t.TempDir(), "access.log")
	inst, _ := startGateway(t, fmt.Sprintf(fastPathConfig, up.URL, true), gateway.Options{Port: mustFreePort(t), AccessLog: logFile})
	base := strings.TrimSuffix(inst.Endpoint, "/mcp")
	cs := connectWithKey(t, base+"/alpha/mcp", "sk-tools-0123456789")
	ctx := t.Context()
	call := func(tool string, args map[string]any) (string, error) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
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
		lines := accessLogLines(t, logFile, "/alpha/mcp")
		return len(lines) > 0 && lines[len(lines)-1]["decided_by"] == "envoy"
	})
	lines := accessLogLines(t, logFile, "/alpha/mcp")
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
}
