// Package mcprest holds what the router and the sidecar share about
// LiteLLM's REST facade (/mcp-rest/...): its paths, and the JSON error
// bodies LiteLLM answers with, so both answer alike.
package mcprest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// The facade's endpoints (LiteLLM's paths).
const (
	Prefix         = "/mcp-rest/"
	ToolsList      = "/mcp-rest/tools/list"
	ToolsCall      = "/mcp-rest/tools/call"
	TestConnection = "/mcp-rest/test/connection"
)

// AdminOnlyMessage is LiteLLM's refusal of a connection test to a key that
// is not the proxy admin's.
const AdminOnlyMessage = "User does not have permission to test MCP server connections. Only PROXY_ADMIN users can perform this action."

// Is reports whether a request path (a query is ignored) is the facade's.
// A server named "mcp-rest" keeps its MCP endpoints /mcp-rest/mcp and
// /mcp-rest/sse.
func Is(path string) bool {
	path, _, _ = strings.Cut(path, "?")
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, "/")
	return rest != "mcp" && rest != "sse"
}

// Method is the HTTP method an endpoint takes; ok is false for a path
// under the prefix that is no endpoint.
func Method(path string) (method string, ok bool) {
	path, _, _ = strings.Cut(path, "?")
	switch path {
	case ToolsList:
		return http.MethodGet, true
	case ToolsCall, TestConnection:
		return http.MethodPost, true
	}
	return "", false
}

// Detail is a FastAPI HTTPException body as LiteLLM's REST endpoints
// answer: {"detail": {"error": kind, "message": message}}, or
// {"detail": {"error": message}} when kind is "" (LiteLLM's shape for
// policy refusals such as allowed_params).
func Detail(kind, message string) []byte {
	d := map[string]string{"error": message}
	if kind != "" {
		d = map[string]string{"error": kind, "message": message}
	}
	b, _ := json.Marshal(map[string]any{"detail": d})
	return b
}

// Plain is FastAPI's body for its own errors: {"detail": "Not Found"}.
func Plain(status int) []byte {
	b, _ := json.Marshal(map[string]string{"detail": http.StatusText(status)})
	return b
}

// AuthError is LiteLLM's body for a request without a valid key (its
// ProxyException form), with the gateway's own message.
func AuthError(message string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{
		"message": message, "type": "auth_error", "param": "None", "code": strconv.Itoa(http.StatusUnauthorized),
	}})
	return b
}
