//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/gateway"
)

// jsonLines decodes every line of a JSON-lines log; a line that is not a
// JSON object fails the test.
func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// TestLogsJoined: the decision log and Envoy's access log join on
// request_id, and the access log says who called which tool on which
// server with what outcome (a JSON-RPC error code the gateway answered,
// isError of a tool result it read) and how long it took; the gateway's
// own lines about a request carry the same id. No key or secret appears
// in any log: the gateway's (debug level, Envoy's included), the decision
// log or the access log.
func TestLogsJoined(t *testing.T) {
	upURL := echoFailUpstream(t)
	other := startUpstream(t, "beta", false, "echo")
	const (
		master    = "sk-master-logs-0123456789"
		opsKey    = "sk-ops-logs-0123456789"
		unknown   = "sk-unknown-logs-0123456789"
		argSecret = "argument-value-secret"
	)
	decisions := filepath.Join(t.TempDir(), "decisions.jsonl")
	cfg := fmt.Sprintf(`general_settings:
  master_key: %s
mcp_servers:
  alpha:
    url: %q
  beta:
    url: %q
access:
  decision_log: {output: %s}
  keys:
    - {key_alias: ops, key: %s, object_permission: {mcp_servers: [alpha]}}
`, master, upURL, other.URL, decisions, opsKey)
	inst, logs := startGateway(t, cfg, gateway.Options{Port: mustFreePort(t)})
	hdr := func(key string) map[string]string {
		return map[string]string{"x-litellm-api-key": "Bearer " + key, "MCP-Protocol-Version": "2025-06-18"}
	}
	call := func(key, tool string) (int, string) {
		code, _, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"`+tool+`","arguments":{"text":"`+argSecret+`"}}}`), hdr(key))
		return code, body
	}
	if code, body := call(opsKey, "alpha-echo"); code != http.StatusOK || !strings.Contains(body, argSecret) {
		t.Fatalf("alpha-echo: %d %s", code, body)
	}
	if code, body := call(opsKey, "alpha-fail"); code != http.StatusOK || !strings.Contains(body, `"isError":true`) {
		t.Fatalf("alpha-fail: %d %s", code, body)
	}
	// beta is not the key's: the gateway denies the call itself.
	if code, body := call(opsKey, "beta-echo"); code != http.StatusForbidden || !strings.Contains(body, "-32043") {
		t.Fatalf("beta-echo: %d %s", code, body)
	}
	if code, body := call(unknown, "alpha-echo"); code != http.StatusUnauthorized {
		t.Fatalf("unknown key: %d %s", code, body)
	}

	var access []map[string]any
	waitFor(t, "access log lines of the four calls", func() bool {
		b, _ := os.ReadFile(inst.AccessLogPath)
		access = jsonLines(t, b)
		n := 0
		for _, l := range access {
			if l["path"] == "/mcp" && l["method"] == "POST" {
				n++
			}
		}
		return n >= 4
	})
	byTool := map[string]map[string]any{}
	var unauthorized map[string]any
	for _, l := range access {
		if l["path"] != "/mcp" || l["method"] != "POST" {
			continue
		}
		if l["status"] == float64(401) {
			unauthorized = l
			continue
		}
		if tool, _ := l["tool"].(string); tool != "" {
			byTool[fmt.Sprint(l["server"], "/", tool)] = l
		} else if l["jsonrpc_error"] != nil {
			byTool["gateway"] = l
		}
	}
	check := func(what string, l map[string]any, want map[string]any) {
		t.Helper()
		if l == nil {
			t.Errorf("%s: no access log line", what)
			return
		}
		for k, v := range want {
			if fmt.Sprint(l[k]) != fmt.Sprint(v) {
				t.Errorf("%s: access log %s = %v, want %v (line %v)", what, k, l[k], v, l)
			}
		}
		if id, _ := l["request_id"].(string); id == "" {
			t.Errorf("%s: access log line without request_id: %v", what, l)
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("%s: access log line without duration_ms: %v", what, l)
		}
	}
	echo, fail, denied := byTool["alpha/echo"], byTool["alpha/fail"], byTool["gateway"]
	check("alpha-echo", echo, map[string]any{"key_alias": "ops", "server": "alpha", "mcp_method": "tools/call", "status": 200, "is_error": nil, "jsonrpc_error": nil})
	check("alpha-fail", fail, map[string]any{"key_alias": "ops", "server": "alpha", "mcp_method": "tools/call", "is_error": true})
	check("beta-echo", denied, map[string]any{"key_alias": "ops", "mcp_method": "tools/call", "status": 403, "jsonrpc_error": -32043})
	check("unknown key", unauthorized, map[string]any{"key_alias": nil})

	// The decision log joins on request_id.
	var dlines []map[string]any
	waitFor(t, "decision log lines", func() bool {
		b, _ := os.ReadFile(decisions)
		dlines = jsonLines(t, b)
		return len(dlines) >= 4
	})
	decisionFor := func(l map[string]any) map[string]any {
		for _, d := range dlines {
			if l != nil && d["request_id"] == l["request_id"] {
				return d
			}
		}
		return nil
	}
	for what, c := range map[string]struct {
		line     map[string]any
		decision string
	}{
		"alpha-echo": {echo, "allow"}, "alpha-fail": {fail, "allow"}, "beta-echo": {denied, "deny"}, "unknown key": {unauthorized, "deny"},
	} {
		d := decisionFor(c.line)
		if d == nil {
			t.Errorf("%s: no decision line with the access log's request_id %v", what, c.line["request_id"])
			continue
		}
		if d["decision"] != c.decision {
			t.Errorf("%s: decision %v, want %s", what, d["decision"], c.decision)
		}
	}
	if d := decisionFor(echo); d != nil && (d["principal"] != "ops" || d["tool"] != "echo" || d["server"] != "alpha") {
		t.Errorf("alpha-echo decision line = %v; want principal ops, server alpha, tool echo", d)
	}

	// Gateway lines about a request carry its id.
	if denied != nil {
		id := denied["request_id"].(string)
		if !strings.Contains(logs.String(), "request_id="+id) {
			t.Errorf("no gateway log line with request_id=%s", id)
		}
	}

	b, _ := os.ReadFile(inst.AccessLogPath)
	d, _ := os.ReadFile(decisions)
	all := logs.String() + string(b) + string(d)
	for _, s := range []string{master, opsKey, unknown, argSecret} {
		if strings.Contains(all, s) {
			t.Errorf("logs contain secret %q", s)
		}
	}
	if t.Failed() {
		t.Logf("access log:\n%s\ndecision log:\n%s", b, d)
	}
}
