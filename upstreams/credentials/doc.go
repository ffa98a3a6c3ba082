// Package credentials decides which headers a request to one upstream MCP
// server carries: the server's own credentials (auth_type, static_headers,
// its OAuth2 token), the client credentials meant for it
// (x-mcp-<alias>-<header>, the legacy x-mcp-auth header, extra_headers),
// and nothing else a client sent beyond the MCP protocol headers.
//
// Everything here is pure: it takes plain values and returns the headers
// to set and to remove. Fetching an OAuth2 token is I/O and happens in
// the callers (package tokens supplies it); this package only says when a
// token is needed. docs/headers.md lists every header the gateway reads,
// writes and strips, and the precedence when several sources set one.
package credentials
