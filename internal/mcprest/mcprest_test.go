package mcprest

import "testing"

func TestIs(t *testing.T) {
	for path, want := range map[string]bool{
		"/mcp-rest/tools/list":           true,
		"/mcp-rest/tools/list?format=x":  true,
		"/mcp-rest/anything":             true,
		"/mcp-rest/":                     true,
		"/mcp-rest":                      false, // no endpoint: the MCP 404
		"/mcp-rest/mcp":                  false, // the MCP endpoint of a server named mcp-rest
		"/mcp-rest/mcp/":                 false,
		"/mcp-rest/sse":                  false,
		"/mcp":                           false,
		"/mcp/mcp-rest":                  false,
		"/wiki/mcp":                      false,
		"/mcp-restx/tools/list":          false,
		"/Mcp-Rest/tools/list":           false,
		"/mcp-rest/tools/call?x=/../mcp": true,
	} {
		if got := Is(path); got != want {
			t.Errorf("Is(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestBodies(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{string(Detail("", "Parameters ['x'] are not allowed")), `{"detail":{"error":"Parameters ['x'] are not allowed"}}`},
		{string(Detail("missing_parameter", "name is required in request body")), `{"detail":{"error":"missing_parameter","message":"name is required in request body"}}`},
		{string(Plain(404)), `{"detail":"Not Found"}`},
		{string(AuthError("Authentication failed: invalid gateway key")), `{"error":{"code":"401","message":"Authentication failed: invalid gateway key","param":"None","type":"auth_error"}}`},
	} {
		if c.got != c.want {
			t.Errorf("got %s\nwant %s", c.got, c.want)
		}
	}
}
