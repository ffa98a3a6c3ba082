package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/bridge"
)

// rest sends one request to the REST facade with a gateway key ("" for
// none) and returns the status, headers and body.
func rest(t *testing.T, method, url, key, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, url, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("x-litellm-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRESTFacade: LiteLLM's /mcp-rest endpoints through real Envoy, with
// the keys, policy and messages of the MCP endpoints.
func TestRESTFacade(t *testing.T) {
	gw := bridgeGateway(t)
	base := strings.TrimSuffix(gw.Endpoint, "/mcp") + "/mcp-rest"
	const agent, nowiki, none, master = "sk-agent-0123456789", "sk-nowiki-0123456789", "sk-none-0123456789", "sk-master-0123456789"

	type listing struct {
		Tools []struct {
			Name        string
			InputSchema map[string]any
			MCPInfo     struct {
				ServerName string `json:"server_name"`
			} `json:"mcp_info"`
		}
		Error          *string
		Message        string
		ServerOutcomes map[string]map[string]any `json:"server_outcomes"`
	}
	list := func(t *testing.T, query, key string) (int, listing, string) {
		t.Helper()
		status, _, body := rest(t, "GET", base+"/tools/list"+query, key, "")
		var l listing
		if status == 200 {
			if err := json.Unmarshal([]byte(body), &l); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
		}
		return status, l, body
	}
	names := func(l listing) []string {
		var out []string
		for _, tool := range l.Tools {
			out = append(out, tool.MCPInfo.ServerName+"/"+tool.Name)
		}
		slices.Sort(out)
		return out
	}

	t.Run("tools/list: the key's tools, per-server outcomes", func(t *testing.T) {
		status, l, body := list(t, "", agent)
		if status != 200 || l.Error != nil || l.Message != "Successfully retrieved tools" ||
			!slices.Equal(names(l), []string{"github/list_issues", "wiki/read_wiki_contents", "wiki/search"}) {
			t.Fatalf("%d %s", status, body)
		}
		if !strings.Contains(body, `"server_outcomes":{"github":{"status":"ok","tool_count":1},"wiki":{"status":"ok","tool_count":2}}`) {
			t.Errorf("outcomes: %s", body)
		}
		// The master key may use the server that is down: its outcome says so.
		status, l, body = list(t, "", master)
		if status != 200 || l.ServerOutcomes["broken"]["status"] != "unreachable" || len(l.Tools) != 3 {
			t.Errorf("master: %d %s", status, body)
		}
		status, l, body = list(t, "?server_id=wiki", agent)
		if status != 200 || !slices.Equal(names(l), []string{"wiki/read_wiki_contents", "wiki/search"}) {
			t.Errorf("server_id=wiki: %d %s", status, body)
		}
		if status, _, body = list(t, "?server_id=broken", master); status != 502 || !strings.Contains(body, `"error":"unreachable"`) {
			t.Errorf("server_id=broken: %d %s", status, body)
		}
	})

	t.Run("tools/list?format=openai is what package bridge gives over MCP", func(t *testing.T) {
		status, _, body := rest(t, "GET", base+"/tools/list?format=openai", agent, "")
		var got struct{ Tools json.RawMessage }
		if status != 200 || json.Unmarshal([]byte(body), &got) != nil {
			t.Fatalf("%d %s", status, body)
		}
		ts, err := bridge.List(t.Context(), connectWithKey(t, gw.Endpoint, agent), nil)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(ts.ChatCompletionsTools())
		if !jsonEqual(t, got.Tools, want) {
			t.Errorf("rest:   %s\nbridge: %s", got.Tools, want)
		}
	})

	t.Run("tools/call", func(t *testing.T) {
		for _, c := range []struct {
			name, key, body string
			status          int
			want            string
		}{
			{"allowed, by server_id and the server's own name", agent, `{"server_id":"wiki","name":"search","arguments":{"query":"envoy"}}`,
				200, `{"content":[{"type":"text","text":"wiki:search"}]}`},
			{"allowed, by prefixed name", agent, `{"name":"github-list_issues","arguments":{"text":"rest"}}`,
				200, `{"content":[{"type":"text","text":"github:list_issues:rest"}]}`},
			{"denied by allowed_params: LiteLLM's message", agent, `{"server_id":"wiki","name":"read_wiki_contents","arguments":{"status":"active","limit":10}}`,
				403, `{"detail":{"error":"` + deniedParamsMessage + `"}}`},
			{"a key without access to the server: MCP's message", nowiki, `{"server_id":"wiki","name":"search","arguments":{}}`,
				403, `{"detail":{"error":"Access denied: this key may not use the MCP servers of this endpoint"}}`},
			{"a key without access to the tool: MCP's message", nowiki, `{"name":"wiki-search"}`,
				403, `{"detail":{"error":"Access denied: tool wiki-search is not available to this key"}}`},
			{"no name", agent, `{"server_id":"wiki"}`,
				400, `{"detail":{"error":"missing_parameter","message":"name is required in request body"}}`},
			{"no key", "", `{"server_id":"wiki","name":"search"}`,
				401, `{"error":{"code":"401","message":"Authentication required: send a gateway key in the x-litellm-api-key header","param":"None","type":"auth_error"}}`},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, hdr, body := rest(t, "POST", base+"/tools/call", c.key, c.body)
				if status != c.status || !jsonEqual(t, []byte(body), []byte(c.want)) {
					t.Errorf("%d %s\nwant %d %s", status, body, c.status, c.want)
				}
				if status == 401 && hdr.Get("Www-Authenticate") != `ApiKey realm="mcpgw", header="x-litellm-api-key"` {
					t.Errorf("challenge %q", hdr.Get("Www-Authenticate"))
				}
			})
		}
	})

	t.Run("a key without access", func(t *testing.T) {
		status, l, body := list(t, "", nowiki)
		if status != 200 || !slices.Equal(names(l), []string{"github/list_issues"}) || strings.Contains(body, "wiki") {
			t.Errorf("nowiki: %d %s", status, body)
		}
		if status, _, body := rest(t, "GET", base+"/tools/list?server_id=wiki", nowiki, ""); status != 403 ||
			body != `{"detail":{"error":"access_denied","message":"The key is not allowed to access server wiki"}}` {
			t.Errorf("nowiki, server_id=wiki: %d %s", status, body)
		}
		if status, _, body := rest(t, "GET", base+"/tools/list", none, ""); status != 403 ||
			body != `{"detail":{"error":"access_denied","message":"The key is not allowed to access any MCP servers."}}` {
			t.Errorf("none: %d %s", status, body)
		}
		if status, _, body := rest(t, "GET", base+"/tools/list", "sk-nobody-0123456789", ""); status != 401 ||
			!strings.Contains(body, "Authentication failed: invalid gateway key") || strings.Contains(body, "sk-nobody") {
			t.Errorf("unknown key: %d %s", status, body)
		}
	})

	t.Run("test/connection", func(t *testing.T) {
		for _, c := range []struct {
			name, key, body string
			status          int
			want            string
		}{
			{"a configured server", master, `{"server_id":"github"}`, 200, `{"status":"ok"}`},
			{"by alias, with its own url", master, `{"alias":"wiki","url":"` + strings.TrimSuffix(gw.Endpoint, "/mcp") + `"}`, 400, ""},
			{"a server that is down", master, `{"server_id":"broken"}`, 200, ""},
			{"not configured", master, `{"server_id":"nosuch","url":"http://169.254.169.254/"}`, 404,
				`{"detail":{"error":"server_not_found","message":"MCP server 'nosuch' was not found"}}`},
			{"a restricted key: LiteLLM's message", agent, `{"server_id":"wiki"}`, 403, `{"detail":{"error":"` + "User does not have permission to test MCP server connections. Only PROXY_ADMIN users can perform this action." + `"}}`},
			{"no key", "", `{"server_id":"wiki"}`, 401, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, _, body := rest(t, "POST", base+"/test/connection", c.key, c.body)
				if status != c.status || (c.want != "" && !jsonEqual(t, []byte(body), []byte(c.want))) {
					t.Errorf("%d %s\nwant %d %s", status, body, c.status, c.want)
				}
				if c.name == "a server that is down" && (!strings.Contains(body, `"status":"error"`) || !strings.Contains(body, "Failed to connect to MCP server 'broken'") || strings.Contains(body, "http://127.0.0.1:1/mcp")) {
					t.Errorf("down: %s", body)
				}
			})
		}
	})

	t.Run("paths and methods", func(t *testing.T) {
		if status, hdr, body := rest(t, "POST", base+"/tools/list", agent, "{}"); status != 405 || hdr.Get("Allow") != "GET" || body != `{"detail":"Method Not Allowed"}` {
			t.Errorf("POST tools/list: %d %v %s", status, hdr, body)
		}
		if status, _, body := rest(t, "GET", base+"/servers", "", ""); status != 404 || body != `{"detail":"Not Found"}` {
			t.Errorf("unknown path: %d %s", status, body)
		}
	})
}
