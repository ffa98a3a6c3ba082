package router

import "strings"

// Request headers the router reads and writes.
const (
	headerSessionID       = "mcp-session-id"
	headerProtocolVersion = "mcp-protocol-version"
	headerMCPName         = "mcp-name"
	headerContentLength   = "content-length"
	headerContentType     = "content-type"
	headerPath            = ":path"
	headerMethod          = ":method"
)

// DefaultProtocolVersion is assumed when a client sends no
// MCP-Protocol-Version header, as the spec says.
const DefaultProtocolVersion = "2025-03-26"

// Headers are request headers with lower-case names (as Envoy sends them),
// one value each.
type Headers map[string]string

// Get returns a header by case-insensitive name.
func (h Headers) Get(name string) string { return h[strings.ToLower(name)] }

// Lookup returns a header by case-insensitive name and whether the
// request carries it (possibly empty), for namespace.Registry.Resolve.
func (h Headers) Lookup(name string) (string, bool) {
	v, ok := h[strings.ToLower(name)]
	return v, ok
}

// ProtocolVersion is the client's MCP protocol version.
func (h Headers) ProtocolVersion() string {
	if v := h.Get(headerProtocolVersion); v != "" {
		return v
	}
	return DefaultProtocolVersion
}
