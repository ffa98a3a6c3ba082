package admin

import (
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
