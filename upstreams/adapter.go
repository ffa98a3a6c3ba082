package upstreams

import (
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
	"net"
	"net/url"
	"time"
)

// AdapterKind is what the sidecar adapts into a Streamable HTTP endpoint.
type AdapterKind string

const (
	// AdapterStdio runs a local MCP server as a child process.
	AdapterStdio AdapterKind = "stdio"
	// AdapterSSE bridges a legacy HTTP+SSE MCP server (2024-11-05).
	AdapterSSE AdapterKind = "sse"
	// AdapterOpenAPI turns the operations of a REST API into tools.
	AdapterOpenAPI AdapterKind = "openapi"
)

// SessionMode says how many processes a stdio server gets.
type SessionMode string

const (
	// SessionShared is one process for every client (the default).
	SessionShared SessionMode = "shared"
	// SessionPerClient is one process per client session.
	SessionPerClient SessionMode = "per_session"
)

// Startup says when a stdio server's process starts.
type Startup string

const (
	// StartupLazy starts a process when a request first needs it.
	StartupLazy Startup = "lazy"
	// StartupEager starts the shared process with the gateway and restarts
	// it after a crash without waiting for a request.
	StartupEager Startup = "eager"
)

// Adapter describes a server Envoy cannot reach itself: the sidecar serves
// it as Streamable HTTP MCP at an adapter endpoint (see BindAdapters), and
// everything else (Envoy cluster, routing, sessions, discovery) treats
// that endpoint like any other HTTP upstream.
type Adapter struct {
	Kind AdapterKind

	// Source is where the server really is: the legacy SSE endpoint, or
	// the REST API's base URL for OpenAPI ("" means the spec's first
	// server URL). Unused for stdio.
	Source string
	// Headers are sent to Source on every request (auth_type/auth_value,
	// static_headers). Values are secrets: never log them.
	Headers map[string]string
	// Token, when set, supplies an OAuth2 client-credentials token sent as
	// "<TokenHeader>: Bearer <token>" to Source on every request.
	Token       credentials.TokenSource
	TokenHeader string
	// Timeout bounds one tool call (one HTTP request for OpenAPI). Zero
	// means the adapter's default.
	Timeout time.Duration

	// SpecPath is the OpenAPI or Swagger document: a file path or an
	// http(s) URL.
	SpecPath string

	// Command, Args, Env (values already resolved; secrets) and Dir start
	// a stdio server.
	Command string
	Args    []string
	Env     map[string]string
	Dir     string
	// SessionMode, Startup, IdleTimeout (zero: never for shared, 5m for
	// per_session), MaxProcesses (per_session cap; zero: 16) and
	// MaxConcurrent (requests in flight per process; zero: unlimited)
	// tune stdio supervision.
	SessionMode   SessionMode
	Startup       Startup
	IdleTimeout   time.Duration
	MaxProcesses  int
	MaxConcurrent int
}

// AdapterPathPrefix starts every adapter endpoint path on the sidecar.
const AdapterPathPrefix = "/adapters/"

// AdapterPath is the sidecar path of alias's adapter endpoint.
func AdapterPath(alias string) string { return AdapterPathPrefix + alias + "/mcp" }

// BindAdapters returns ups with every adapted upstream's URL set to its
// endpoint on the sidecar at sidecarAddr (host:port). The others are
// returned as they are; adapted ones are copies, so ups is not modified.
func BindAdapters(ups []*Upstream, sidecarAddr string) ([]*Upstream, error) {
	if _, _, err := net.SplitHostPort(sidecarAddr); err != nil {
		return nil, fmt.Errorf("adapter endpoints: sidecar address %q: %w", sidecarAddr, err)
	}
	out := make([]*Upstream, len(ups))
	for i, u := range ups {
		out[i] = u
		if u == nil || u.Adapter == nil {
			continue
		}
		c := *u
		c.URL = &url.URL{Scheme: "http", Host: sidecarAddr, Path: AdapterPath(u.Alias)}
		out[i] = &c
	}
	return out, nil
}
