// Package sessions keeps the upstream MCP sessions that calls routed
// through Envoy carry: one per client session and upstream, opened lazily
// and reused, or leased one call at a time to clients without a session.
// A tools/call never costs an upstream initialize.
package sessions
