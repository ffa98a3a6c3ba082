package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// captured is one request a capture upstream received.
type captured struct {
	method  string // JSON-RPC method ("" for GET/DELETE)
	headers http.Header
}

// captureUpstream is a real go-sdk MCP server (tool "whoami") that records
// every request it receives, headers and JSON-RPC method.
type captureUpstream struct {
	alias string
	URL   string
	mu    sync.Mutex
	seen  []captured
}

func startCaptureUpstream(t *testing.T, alias string) *captureUpstream {
	t.Helper()
	c := &captureUpstream{alias: alias}
	srv := mcp.NewServer(&mcp.Implementation{Name: alias, Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami", Description: "names the server"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: alias + ":ok"}}}, nil, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var method string
		if r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			var m struct{ Method string }
			json.Unmarshal(b, &m)
			method = m.Method
		}
		c.mu.Lock()
		c.seen = append(c.seen, captured{method, r.Header.Clone()})
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})}
	go hs.Serve(lis)
	t.Cleanup(func() { hs.Close() })
	c.URL = "http://" + lis.Addr().String() + "/mcp"
	return c
}

// since returns the requests received after the first n.
func (c *captureUpstream) since(n int) []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]captured(nil), c.seen[n:]...)
}

func (c *captureUpstream) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// tokenServer is a local OAuth2 token endpoint that counts requests. When
// refuse is set it answers 401 and echoes the request (client secret
// included) in its body, as careless endpoints do.
func tokenServer(t *testing.T, refuse bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if refuse {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client",
				"error_description": "wrong secret " + r.PostForm.Get("client_secret"), "echo": r.PostForm.Encode()})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("oauth-token-secret-%d", i), "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// baseline headers every upstream request may carry: MCP's own, content
// negotiation, the Go client's user agent, and what Envoy adds.
var baseline = []string{
	"Accept", "Accept-Encoding", "Content-Type", "Content-Length", "User-Agent", "Mcp-Protocol-Version",
	"Mcp-Session-Id", "Last-Event-Id", "X-Forwarded-Proto", "X-Request-Id", "X-Envoy-Expected-Rq-Timeout-Ms",
	"X-Envoy-Original-Host", // auto_host_rewrite keeps the client's Host here
}

// TestCredentialIsolation is the capture matrix: several upstreams with
// different credential set-ups, several client header sets, every
// combination through real Envoy. Each upstream must see exactly its own
// credentials (in the documented precedence) and nothing else: not the
// gateway key, not another server's credentials, not x-mcp-* headers,
// cookies or hop-by-hop headers. Discovery and upstream session set-up
// are checked as well as calls, and no secret may appear in any log.
func TestCredentialIsolation(t *testing.T) {
	tokens, tokenRequests := tokenServer(t, false)
	refusing, _ := tokenServer(t, true)
	ups := map[string]*captureUpstream{}
	for _, a := range []string{"alpha", "beta-svc", "Gamma_OAuth", "delta", "open", "broken"} {
		ups[a] = startCaptureUpstream(t, a)
	}
	cfg := fmt.Sprintf(`general_settings:
  mcp_tool_prefix_separator: "__"
mcp_servers:
  alpha:
    url: %q
    auth_type: api_key
    auth_value: alpha-static-secret
    static_headers: {X-Team: alpha-team}
  beta-svc:
    url: %q
    auth_type: bearer_token
    auth_value: beta-static-secret
    extra_headers: [X-Tenant]
  Gamma_OAuth:
    url: %q
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: %q
    client_id: gamma-client
    client_secret: gamma-client-secret
    scopes: [mcp.call]
    extra_headers: [Authorization, X-Tenant]
  delta:
    url: %q
    auth_type: bearer_token
  open:
    url: %q
  broken:
    url: %q
    auth_type: oauth2
    oauth2_flow: client_credentials
    token_url: %q
    client_id: broken-client
    client_secret: broken-client-secret
gateway:
  max_request_body_bytes: 65536
`, ups["alpha"].URL, ups["beta-svc"].URL, ups["Gamma_OAuth"].URL, tokens.URL+"/token",
		ups["delta"].URL, ups["open"].URL, ups["broken"].URL, refusing.URL+"/token")
	gw, logs := gatewayWithLogs(t, cfg)

	const oauthToken = "Bearer oauth-token-secret-1"
	// Client header sets. Header names are written in mixed case; HTTP
	// ignores it.
	combos := map[string]map[string]string{
		"none":        {},
		"gateway key": {"X-LiteLLM-API-Key": "sk-gateway-key-secret"},
		"per-server": {
			"X-MCP-alpha-X-API-Key":               "client-alpha-key-secret",
			"X-MCP-Beta-Svc-Authorization":        "Bearer client-beta-secret",
			"x-mcp-gamma_oauth-authorization":     "Bearer client-gamma-secret",
			"x-mcp-delta-authorization":           "Bearer client-delta-secret",
			"x-mcp-open-x-open-token":             "client-open-secret",
			"x-mcp-unknown-authorization":         "Bearer client-unknown-secret",
			"x-mcp-alpha-x-mcp-cluster":           "mcp_upstream_delta",
			"x-mcp-delta-mcp-session-id":          "forged-session-secret",
			"x-mcp-beta-svc-x-litellm-api-key":    "sk-forwarded-key-secret",
			"x-mcp-open-content-type":             "text/plain",
			"x-mcp-gamma_oauth-transfer-encoding": "chunked",
		},
		"legacy": {"X-MCP-Auth": "legacy-secret"},
		"junk": {
			"X-Tenant": "tenant-1", "Authorization": "Bearer client-raw-authz-secret", "Cookie": "session=cookie-secret",
			"X-MCP-Cluster": "mcp_upstream_alpha", "X-MCP-Servers": "alpha,beta-svc,Gamma_OAuth,delta,open,broken",
			"Proxy-Authorization": "Basic proxy-secret", "X-Forwarded-For": "203.0.113.9", "X-Custom-Client": "custom-secret",
			"X-Envoy-Custom": "envoy-custom-secret", "Connection": "keep-alive, X-Hop-Secret", "X-Hop-Secret": "hop-secret", "TE": "trailers", "Keep-Alive": "timeout=5",
		},
	}
	everything := map[string]string{}
	for _, name := range []string{"gateway key", "per-server", "legacy", "junk"} {
		for k, v := range combos[name] {
			everything[k] = v
		}
	}
	combos["everything"] = everything

	// expected[server][combo] is the credential set the server must get
	// on a call (lower-case names), per docs/headers.md.
	alphaStatic := map[string]string{"x-api-key": "alpha-static-secret", "x-team": "alpha-team"}
	expected := map[string]map[string]map[string]string{
		"alpha": {
			"none": alphaStatic, "gateway key": alphaStatic, "junk": alphaStatic,
			"per-server": {"x-api-key": "client-alpha-key-secret", "x-team": "alpha-team"},
			"legacy":     {"x-api-key": "legacy-secret", "x-team": "alpha-team"},
			"everything": {"x-api-key": "client-alpha-key-secret", "x-team": "alpha-team"},
		},
		"beta-svc": {
			"none": {"authorization": "Bearer beta-static-secret"}, "gateway key": {"authorization": "Bearer beta-static-secret"},
			"per-server": {"authorization": "Bearer client-beta-secret"},
			"legacy":     {"authorization": "Bearer legacy-secret"},
			"junk":       {"authorization": "Bearer beta-static-secret", "x-tenant": "tenant-1"},
			"everything": {"authorization": "Bearer client-beta-secret", "x-tenant": "tenant-1"},
		},
		// extra_headers lists Authorization, but the client's never
		// replaces the token of a client_credentials server.
		"Gamma_OAuth": {
			"none": {"authorization": oauthToken}, "gateway key": {"authorization": oauthToken},
			"junk":       {"authorization": oauthToken, "x-tenant": "tenant-1"},
			"per-server": {"authorization": "Bearer client-gamma-secret"},
			"legacy":     {"authorization": "Bearer legacy-secret"},
			"everything": {"authorization": "Bearer client-gamma-secret", "x-tenant": "tenant-1"},
		},
		"delta": {
			"none": {}, "gateway key": {}, "junk": {},
			"per-server": {"authorization": "Bearer client-delta-secret"},
			"legacy":     {"authorization": "Bearer legacy-secret"},
			"everything": {"authorization": "Bearer client-delta-secret"},
		},
		"open": {
			"none": {}, "gateway key": {}, "junk": {}, "legacy": {},
			"per-server": {"x-open-token": "client-open-secret"},
			"everything": {"x-open-token": "client-open-secret"},
		},
	}
	// ownServer is what the gateway itself sends each server (discovery).
	ownServer := map[string]map[string]string{
		"alpha": alphaStatic, "beta-svc": {"authorization": "Bearer beta-static-secret"},
		"Gamma_OAuth": {"authorization": oauthToken}, "delta": {}, "open": {},
	}
	// Every secret of the test, for the leak checks.
	var secrets []string
	for _, c := range combos {
		for _, v := range c {
			if strings.Contains(v, "secret") {
				secrets = append(secrets, strings.TrimPrefix(strings.TrimPrefix(v, "Bearer "), "Basic "))
			}
		}
	}
	secrets = append(secrets, "alpha-static-secret", "beta-static-secret", "gamma-client-secret", "broken-client-secret", "oauth-token-secret-1")

	// Discovery: every server's tools are listed, so each was reached
	// with the gateway's own credentials (the OAuth2 token included).
	cs := connect(t, gw.Endpoint)
	waitFor(t, "every working server's tools", func() bool {
		res, err := cs.ListTools(t.Context(), nil)
		return err == nil && len(res.Tools) == 5
	})

	servers := []string{"alpha", "beta-svc", "Gamma_OAuth", "delta", "open"}
	for _, combo := range []string{"none", "gateway key", "per-server", "legacy", "junk", "everything"} {
		hdrs := combos[combo]
		// A fresh client session per combination, so the upstream
		// sessions are opened with this combination's credentials.
		status, rh, body := post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"matrix","version":"1"}}}`), hdrs)
		sid := rh.Get("Mcp-Session-Id")
		if status != 200 || sid == "" {
			t.Fatalf("%s: initialize = %d %s", combo, status, body)
		}
		withSession := map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-06-18"}
		for k, v := range hdrs {
			withSession[k] = v
		}
		post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), withSession)
		for _, alias := range servers {
			up := ups[alias]
			before := up.count()
			call := fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, alias+"__whoami")
			status, _, body := post(t, gw.Endpoint, []byte(call), withSession)
			if status != 200 || !strings.Contains(body, alias+":ok") {
				t.Errorf("%s -> %s: %d %s", combo, alias, status, body)
				continue
			}
			want := expected[alias][combo]
			sawCall, sawSetUp := false, false
			for _, req := range up.since(before) {
				allowed := want
				if req.method == "initialize" && matches(req.headers, want) {
					sawSetUp = true
				}
				if req.method != "tools/call" {
					// Session set-up carries the call's credentials; a
					// concurrent discovery request the gateway's own.
					if !matches(req.headers, want) {
						allowed = ownServer[alias]
					}
				} else {
					sawCall = true
				}
				checkExactly(t, fmt.Sprintf("%s -> %s (%s)", combo, alias, req.method), req.headers, allowed, secrets)
			}
			if !sawCall {
				t.Errorf("%s -> %s: the upstream saw no tools/call", combo, alias)
			}
			if !sawSetUp {
				t.Errorf("%s -> %s: no upstream session was opened with the call's credentials", combo, alias)
			}
		}
	}

	// Everything any upstream ever saw, discovery included: only its own
	// credentials or the client credentials addressed to it.
	for alias, up := range ups {
		own := map[string]bool{}
		for _, c := range expected[alias] {
			for _, v := range c {
				own[v] = true
			}
		}
		for _, req := range up.since(0) {
			for name, vs := range req.headers {
				for _, v := range vs {
					for _, s := range secrets {
						if strings.Contains(v, s) && !own[v] {
							t.Errorf("%s saw %s: %q, which is not its own (%s)", alias, name, v, req.method)
						}
					}
				}
			}
		}
	}
	// Clients without a session that bring their own credentials never
	// share an upstream session: each one's is opened with its own.
	for _, who := range []string{"alice", "bob", "alice"} {
		before := ups["delta"].count()
		status, _, body := post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delta__whoami","arguments":{}}}`),
			map[string]string{"X-MCP-Delta-Authorization": "Bearer " + who + "-delta-secret"})
		if status != 200 || !strings.Contains(body, "delta:ok") {
			t.Fatalf("session-less call as %s = %d %s", who, status, body)
		}
		for _, req := range ups["delta"].since(before) {
			if got := req.headers.Get("Authorization"); got != "Bearer "+who+"-delta-secret" {
				t.Errorf("session-less %s: delta's %s carried Authorization %q", who, req.method, got)
			}
		}
	}
	secrets = append(secrets, "alice-delta-secret", "bob-delta-secret")

	if n := tokenRequests.Load(); n != 1 {
		t.Errorf("token endpoint asked %d times for discovery, sessions and %d calls; want 1 (cached)", n, len(combos))
	}

	// A failing token endpoint: the call gets a 502 JSON-RPC error naming
	// the server, with no secret in it, and the upstream sees nothing.
	before := ups["broken"].count()
	status, _, body := post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"broken__whoami","arguments":{}}}`), nil)
	if status != http.StatusBadGateway || !strings.Contains(body, `\"broken\"`) || !strings.Contains(body, "HTTP 401") || !strings.Contains(body, "-32603") {
		t.Errorf("call with a failing token endpoint = %d %s; want 502 naming the server", status, body)
	}
	for _, s := range append(slices.Clone(secrets), "wrong secret", "client_secret") {
		if strings.Contains(body, s) {
			t.Errorf("error body leaks %q: %s", s, body)
		}
	}
	if got := ups["broken"].since(before); len(got) != 0 {
		t.Errorf("broken upstream saw %d requests without a token", len(got))
	}

	// No secret in the gateway's logs (debug level), Envoy's log or
	// Envoy's access log.
	var access []byte
	waitFor(t, "the access log of the calls", func() bool {
		access, _ = os.ReadFile(gw.AccessLogPath)
		return strings.Count(string(access), "mcp_upstream_Gamma_OAuth") >= len(combos)
	})
	all := logs.String() + string(access)
	if !strings.Contains(all, "upstream=Gamma_OAuth") || !strings.Contains(all, "no OAuth2 token for upstream") {
		t.Fatalf("gateway logs look empty; the grep below would prove nothing:\n%s", all)
	}
	for _, s := range append(secrets, "wrong secret") {
		if strings.Contains(all, s) {
			t.Errorf("logs contain secret %q", s)
		}
	}
}

// matches reports whether h carries every header of want with its value.
func matches(h http.Header, want map[string]string) bool {
	for k, v := range want {
		if h.Get(k) != v {
			return false
		}
	}
	return true
}

// checkExactly asserts that h carries exactly the credentials want beside
// the baseline headers, and no secret outside want.
func checkExactly(t *testing.T, what string, h http.Header, want map[string]string, secrets []string) {
	t.Helper()
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	for name, vs := range h {
		lower := strings.ToLower(name)
		if _, ok := want[lower]; ok {
			continue
		}
		if !slices.ContainsFunc(baseline, func(b string) bool { return strings.EqualFold(b, name) }) {
			t.Errorf("%s: unexpected header %s: %q", what, name, vs)
			continue
		}
		for _, v := range vs {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Errorf("%s: %s carries a secret", what, name)
				}
			}
		}
	}
}

// TestLegacyHeaderName: with mcp_client_side_auth_header_name set to
// Authorization, the client's Authorization is every server's auth (as
// its auth_type writes it), and the gateway key keeps its own header,
// which never reaches an upstream.
func TestLegacyHeaderName(t *testing.T) {
	bearer := startCaptureUpstream(t, "bearer")
	open := startCaptureUpstream(t, "open")
	gw := gatewayUnder(t, fmt.Sprintf(`general_settings:
  mcp_client_side_auth_header_name: Authorization
mcp_servers:
  bearer:
    url: %q
    auth_type: bearer_token
  open:
    url: %q
`, bearer.URL, open.URL))
	for alias, want := range map[string]string{"bearer": "Bearer user-token-secret", "open": ""} {
		up := map[string]*captureUpstream{"bearer": bearer, "open": open}[alias]
		before := up.count()
		status, _, body := post(t, gw.Endpoint, []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s-whoami","arguments":{}}}`, alias)),
			map[string]string{"Authorization": "Bearer user-token-secret", "X-LiteLLM-API-Key": "sk-gateway-key-secret"})
		if status != 200 || !strings.Contains(body, alias+":ok") {
			t.Fatalf("call %s = %d %s", alias, status, body)
		}
		for _, req := range up.since(before) {
			if got := req.headers.Get("Authorization"); got != want {
				t.Errorf("%s %s: Authorization = %q, want %q", alias, req.method, got, want)
			}
			if got := req.headers.Get("X-LiteLLM-API-Key"); got != "" {
				t.Errorf("%s %s: the gateway key reached the upstream", alias, req.method)
			}
		}
	}
}

// TestRepeatedCredentialHeaders sends credential headers twice through
// real Envoy (which joins a repeated Authorization into one value, while
// the adapter sees other repeated headers as separate entries): each is
// refused with 400 naming the header, and nothing reaches the upstream.
// The same headers sent once work.
func TestRepeatedCredentialHeaders(t *testing.T) {
	up := startCaptureUpstream(t, "alpha")
	gw := gatewayUnder(t, fmt.Sprintf(`general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  alpha:
    url: %q
    auth_type: bearer_token
    extra_headers: [Authorization]
`, up.URL))
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha-whoami","arguments":{}}}`)
	send := func(headers [][2]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, gw.Endpoint, bytes.NewReader(call))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		for _, h := range headers {
			req.Header.Add(h[0], h[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	key := [2]string{"X-LiteLLM-API-Key", "sk-master-0123456789"}
	if status, body := send([][2]string{key, {"Authorization", "Bearer one"}}); status != 200 || !strings.Contains(body, "alpha:ok") {
		t.Fatalf("one of each: %d %s", status, body)
	}
	for _, tt := range []struct {
		name    string
		headers [][2]string
		header  string
	}{
		{"two Authorization headers", [][2]string{key, {"Authorization", "Bearer a"}, {"Authorization", "Bearer b"}}, "authorization"},
		{"two gateway keys", [][2]string{key, key}, "x-litellm-api-key"},
		{"a gateway key and another", [][2]string{key, {"X-LiteLLM-API-Key", "sk-other"}}, "x-litellm-api-key"},
		{"two legacy credentials", [][2]string{key, {"X-MCP-Auth", "m1"}, {"X-MCP-Auth", "m2"}}, "x-mcp-auth"},
		{"two per-server credentials", [][2]string{key, {"X-MCP-Alpha-Authorization", "Bearer c"}, {"X-MCP-Alpha-Authorization", "Bearer d"}}, "x-mcp-alpha-authorization"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			status, body := send(tt.headers)
			if status != 400 || !strings.Contains(body, `"code":-32600`) || !strings.Contains(body, `\"`+tt.header+`\"`) {
				t.Fatalf("%d %s; want 400 -32600 naming %s", status, body, tt.header)
			}
			for _, h := range tt.headers {
				if h[0] != key[0] && strings.Contains(body, h[1]) {
					t.Errorf("the reply repeats a credential: %s", body)
				}
			}
			if n := up.count() - before; n != 0 {
				t.Errorf("the upstream saw %d requests", n)
			}
		})
	}
}
