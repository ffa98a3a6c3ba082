package admin

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Envoy sends only wellknown.AdminAPIPaths and AdminAPIPrefixes here: every
// route of the handler must be among them (else Envoy never reaches it),
// and each of those paths must be a route (else it is a dead Envoy route).
func TestRoutesAreTheOnesEnvoySends(t *testing.T) {
	e := newEnv(t, nil)
	served := func(method, path string) bool {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed
	}
	for _, path := range wellknown.AdminAPIPaths {
		ok := false
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			ok = ok || served(m, path)
		}
		if !ok {
			t.Errorf("Envoy routes %s to the admin API, which serves no method of it", path)
		}
	}
	for _, prefix := range wellknown.AdminAPIPrefixes {
		if !served("GET", prefix+"some-id") {
			t.Errorf("Envoy routes %s... to the admin API, which does not serve it", prefix)
		}
	}
	for _, path := range []string{"/mcp", "/mcp/key", "/key/mcp", "/v1/mcp", "/key/generate/x", "/", "/team"} {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusNotFound && !strings.HasPrefix(path, "/v1/mcp/server/") {
			t.Errorf("GET %s: %d, want 404 (not an admin path)", path, rec.Code)
		}
	}
}

// Bodies that scripts written against LiteLLM send (operators' automation
// seen in public repositories), as they are: each succeeds.
func TestScriptBodies(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/team/new", `{"team_alias": "TeamResearch", "models": ["claude-sonnet-5", "claude-haiku-4-5"], "max_budget": 200.0, "object_permission": {"mcp_access_groups": ["default_tools"]}}`, http.StatusOK},
		{"POST", "/v1/mcp/server", `{"server_name": "agent_github", "url": "https://mcp.example.com/sse", "transport": "sse", "credentials": {"auth_value": "hdr-secret-2"}, "mcp_access_groups": ["agent_github_tools"], "allowed_tools": ["search"]}`, http.StatusCreated},
		{"POST", "/key/generate", `{"key_alias": "agent-key", "models": ["gpt-4o"], "object_permission": {"mcp_access_groups": ["agent_github_tools"]}}`, http.StatusOK},
		{"GET", "/v1/mcp/server", ``, http.StatusOK},
		{"GET", "/team/list", ``, http.StatusOK},
	} {
		code, body, _ := e.do(tc.method, tc.path, tc.body)
		if code != tc.want {
			t.Errorf("%s %s: %d %v, want %d", tc.method, tc.path, code, body, tc.want)
		}
	}
}

// What the config file may hold but an API body may not: a stdio command
// outside LiteLLM's list (plus StdioCommands), credentials in the URL.
func TestServerBodiesRefused(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.StdioCommands = []string{"/opt/tools/mcp-fs"} })
	for _, tc := range []struct {
		body  string
		want  int
		param string
	}{
		{`{"server_name": "sh", "transport": "stdio", "command": "sh", "args": ["-c", "id"]}`, http.StatusBadRequest, "command"},
		{`{"server_name": "bin", "transport": "stdio", "command": "/usr/bin/python3"}`, http.StatusBadRequest, "command"},
		{`{"server_name": "fs", "transport": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]}`, http.StatusCreated, ""},
		{`{"server_name": "extra", "transport": "stdio", "command": "/opt/tools/mcp-fs"}`, http.StatusCreated, ""},
		{`{"server_name": "userinfo", "transport": "http", "url": "https://bob:hunter2@mcp.example/mcp"}`, http.StatusBadRequest, "url"},
	} {
		code, body, _ := e.do("POST", "/v1/mcp/server", tc.body)
		if code != tc.want || (tc.param != "" && field(body, "error", "param") != tc.param) {
			t.Errorf("%s: %d %v, want %d naming %q", tc.body, code, body, tc.want, tc.param)
		}
		if strings.Contains(fmt.Sprint(body), "hunter2") {
			t.Errorf("the answer shows the URL's password: %v", body)
		}
	}
	// An update cannot bring them in either.
	code, body, _ := e.do("PUT", "/v1/mcp/server", `{"server_id": "`+serverIDOf(t, e, "fs")+`", "command": "bash"}`)
	if code != http.StatusBadRequest {
		t.Errorf("PUT with command bash: %d %v", code, body)
	}
}

func serverIDOf(t *testing.T, e *env, name string) string {
	t.Helper()
	_, list, _ := e.do("GET", "/v1/mcp/server", "")
	for _, s := range list.([]any) {
		if field(s, "server_name") == name {
			return field(s, "server_id").(string)
		}
	}
	t.Fatalf("no server %s", name)
	return ""
}
