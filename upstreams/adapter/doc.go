// Package adapter serves the MCP servers Envoy cannot reach itself (stdio
// child processes, OpenAPI-described REST APIs and legacy HTTP+SSE
// servers) as Streamable HTTP MCP endpoints, one per server at
// /adapters/<alias>/mcp on the sidecar's listener. Envoy routes tool
// calls to them like to any other cluster, and discovery and the
// upstream session pool reach them through the same URL, so policy,
// credentials and routing are the same for every kind of server.
//
// Each endpoint is a go-sdk MCP server whose tools come from a backend:
// the tools of the stdio process (package upstreams/stdio) or of the
// legacy SSE server (bridged through a go-sdk SSE client session), or the
// operations of the OpenAPI document (package upstreams/openapi). Only
// tools are adapted; see docs/adapters.md.
package adapter
