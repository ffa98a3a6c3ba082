package router

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// Request headers the router reads and writes.
const (
	headerSessionID       = "mcp-session-id"
	headerProtocolVersion = "mcp-protocol-version"
	headerMCPName         = "mcp-name"
	headerMCPMethod       = "mcp-method"
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

// OriginPolicy decides which browser origins may call the gateway. MCP
// servers must validate Origin (DNS rebinding: a web page in a browser on
// the user's machine must not reach a gateway on localhost). Requests
// without an Origin header (every non-browser client) are not affected.
type OriginPolicy struct {
	// Allowed are exact origins ("https://app.example.com") or "*" for
	// any. Origins on loopback hosts (localhost, 127.0.0.1, [::1]) are
	// always allowed: a page there already runs on the user's machine.
	Allowed []string
}

// allows reports whether a request from origin may proceed.
func (p OriginPolicy) allows(origin string) bool {
	if origin == "" || slices.Contains(p.Allowed, "*") || slices.Contains(p.Allowed, strings.TrimSuffix(origin, "/")) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// WithOrigins sets the origin policy (the default allows loopback origins
// and requests without Origin).
func WithOrigins(p OriginPolicy) Option {
	return func(r *Router) { r.origins = p }
}

// checkOrigin answers 403 for a browser origin the policy refuses; the
// body does not repeat the origin.
func (r *Router) checkOrigin(h Headers) *Reply {
	if r.origins.allows(h.Get("origin")) {
		return nil
	}
	return errorReply(&rpc.Error{Status: http.StatusForbidden, Code: rpc.CodeInvalidRequest,
		Message: "Origin not allowed: add it to gateway.allowed_origins"}, nil)
}
