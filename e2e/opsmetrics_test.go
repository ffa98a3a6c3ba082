package e2e

import (
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/mcpgw/mcpgw/internal/gateway"
)

// metricValue sums the samples of name whose labels include want.
func metricValue(text, name string, want map[string]string) float64 {
	var n float64
	for _, s := range metricSeries(text, name) {
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			n += s.value
		}
	}
	return n
}

// TestSessionTokenDiscoveryMetrics: a client session that starts and is
// DELETEd, OAuth2 token fetches that succeed and are refused, and an
// upstream discovery cannot reach, each move their metric.
func TestSessionTokenDiscoveryMetrics(t *testing.T) {
	good, _ := tokenServer(t, false)
	refusing, _ := tokenServer(t, true)
	tok := startUpstream(t, "tok", false, "echo")
	bad := startUpstream(t, "bad", false, "echo")
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String() + "/mcp"
	down.Close() // nothing listens there
	cfg := fmt.Sprintf(`mcp_servers:
  tok:
    url: %q
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: %q
    client_id: tok-client
    client_secret: tok-client-secret
  bad:
    url: %q
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: %q
    client_id: bad-client
    client_secret: bad-client-secret
  down:
    url: %q
`, tok.URL, good.URL+"/token", bad.URL, refusing.URL+"/token", downURL)
	inst, _ := startGateway(t, cfg, gateway.Options{Port: mustFreePort(t)})

	// A 2025-06-18 session (2026-07-28 clients have none): initialize,
	// then DELETE.
	code, h, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`), nil)
	sid := h.Get("Mcp-Session-Id")
	if code != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %q %s", code, sid, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, inst.Endpoint, nil)
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("MCP-Protocol-Version", "2025-06-18")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}

	var text string
	t.Cleanup(func() {
		for _, n := range []string{"mcpgw_client_sessions_total", "mcpgw_oauth2_token_fetches_total", "mcpgw_upstream_discovery_failures_total"} {
			t.Logf("%s: %v", n, metricSeries(text, n))
		}
	})
	waitFor(t, "the metrics", func() bool {
		var code int
		code, text = opsGet(inst.OpsAddr, "/metrics")
		return code == http.StatusOK &&
			metricValue(text, "mcpgw_client_sessions_total", map[string]string{"event": "started"}) >= 1 &&
			metricValue(text, "mcpgw_client_sessions_total", map[string]string{"event": "ended"}) >= 1 &&
			metricValue(text, "mcpgw_oauth2_token_fetches_total", map[string]string{"server": "tok", "outcome": "ok"}) >= 1 &&
			metricValue(text, "mcpgw_oauth2_token_fetches_total", map[string]string{"server": "bad", "outcome": "refused"}) >= 1 &&
			metricValue(text, "mcpgw_upstream_discovery_failures_total", map[string]string{"server": "down"}) >= 1
	})
	if n := metricValue(text, "mcpgw_oauth2_token_fetches_total", map[string]string{"server": "tok", "outcome": "refused"}); n != 0 {
		t.Errorf("tok refused fetches = %v", n)
	}
	if n := metricValue(text, "mcpgw_upstream_discovery_failures_total", map[string]string{"server": "tok"}); n != 0 {
		t.Errorf("tok discovery failures = %v", n)
	}
}
