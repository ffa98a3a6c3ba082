// Package sessions keeps the upstream MCP sessions that calls routed
// through Envoy carry. A client's gateway session maps to at most one
// session per upstream, opened lazily on the first call and reused for
// every later call, so a tools/call never costs an upstream initialize.
package sessions
