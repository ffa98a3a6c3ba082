// Package upstreams describes the MCP servers the gateway fronts and talks
// to them over MCP (discovery for the aggregator, session set-up for calls).
package upstreams

import (
	"fmt"
	"net/url"
	"time"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// Transport is how an upstream MCP server is reached.
type Transport string

const (
	// TransportHTTP is Streamable HTTP; Envoy carries calls to it directly.
	TransportHTTP Transport = "http"
	// TransportSSE is the legacy HTTP+SSE transport (bridged by the sidecar).
	TransportSSE Transport = "sse"
	// TransportStdio is a local child process (served by the sidecar).
	TransportStdio Transport = "stdio"
)

// Upstream is the runtime view of one configured MCP server. It is built
// from config (again, as a new value, when a running gateway's servers
// change) and shared read-only by the router, the Envoy config generator
// and the sidecar.
type Upstream struct {
	// Alias is the server's name in mcp_servers; it prefixes tool names.
	Alias string
	// Transport says how the server is reached.
	Transport Transport
	// URL is the server's Streamable HTTP MCP endpoint: its own for http
	// servers; for adapted ones (Adapter set) the sidecar's adapter
	// endpoint, nil until BindAdapters.
	URL *url.URL
	// Adapter is set for servers the sidecar adapts (stdio, legacy SSE,
	// OpenAPI); nil for Streamable HTTP servers.
	Adapter *Adapter
	// Cluster is the Envoy cluster that carries calls to this server.
	Cluster string
	// Credentials are how the gateway authenticates to this server
	// (auth_type, static_headers, OAuth2 token) and which client headers
	// it may receive; package credentials computes the headers of each
	// request from them. Values are secrets: never log them.
	Credentials credentials.Server
	// Description is shown to clients where MCP has room for it.
	Description string
	// AllowedTools, when non-empty, is the only tools (upstream names,
	// case-sensitive) clients may see and call. It wins over
	// DisallowedTools when both are set, as in LiteLLM.
	AllowedTools []string
	// DisallowedTools are tools clients may neither see nor call.
	DisallowedTools []string
	// AccessGroups name the groups this server belongs to; a group name
	// selects its servers in /mcp/<group> and x-mcp-servers.
	AccessGroups []string
	// Timeout bounds one call routed to this server, from the request
	// sent to the answer complete (LiteLLM's per-server timeout); zero
	// means DefaultCallTimeout.
	Timeout time.Duration
}

// DefaultCallTimeout is Upstream.Timeout's default: LiteLLM's for MCP
// calls (MCP_CLIENT_TIMEOUT, 60 s).
const DefaultCallTimeout = 60 * time.Second

// CallTimeout is the deadline of one call routed to u.
func (u *Upstream) CallTimeout() time.Duration {
	if u.Timeout > 0 {
		return u.Timeout
	}
	return DefaultCallTimeout
}

// ToolAllowed reports whether the server-level tool filters let clients
// see and call the upstream tool name. Listing and calling both ask it,
// so what is visible is what is callable.
func (u *Upstream) ToolAllowed(name string) bool {
	if len(u.AllowedTools) > 0 {
		for _, t := range u.AllowedTools {
			if t == name {
				return true
			}
		}
		return false
	}
	for _, t := range u.DisallowedTools {
		if t == name {
			return false
		}
	}
	return true
}

// ClusterName is the Envoy cluster name for an upstream alias. Aliases are
// validated by config to [A-Za-z0-9_-], so the result is a valid cluster name.
func ClusterName(alias string) string { return "mcp_upstream_" + alias }

// HostPort returns host and port of the upstream URL, with the port defaulted
// from the scheme.
func (u *Upstream) HostPort() (host string, port int, err error) {
	if u.URL == nil {
		return "", 0, fmt.Errorf("upstream %s: no url", u.Alias)
	}
	host = u.URL.Hostname()
	p := u.URL.Port()
	switch {
	case p != "":
		if _, err := fmt.Sscanf(p, "%d", &port); err != nil {
			return "", 0, fmt.Errorf("upstream %s: bad port %q", u.Alias, p)
		}
	case u.URL.Scheme == "https":
		port = 443
	default:
		port = 80
	}
	return host, port, nil
}

// TLS reports whether Envoy must speak TLS to the upstream.
func (u *Upstream) TLS() bool { return u.URL != nil && u.URL.Scheme == "https" }

// Path is the request path Envoy sends calls to (the URL's path and query).
func (u *Upstream) Path() string {
	if u.URL == nil {
		return "/"
	}
	p := u.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.URL.RawQuery != "" {
		p += "?" + u.URL.RawQuery
	}
	return p
}

// Routable reports whether Envoy can carry calls to u: it has a
// Streamable HTTP endpoint, its own or the sidecar's adapter endpoint.
func (u *Upstream) Routable() bool {
	return u.URL != nil && (u.Transport == TransportHTTP || u.Adapter != nil)
}
