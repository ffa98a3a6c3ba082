// Package sidecar serves the gateway's aggregated MCP endpoint: Envoy sends
// it everything on /mcp that is not a tools/call (initialize, tools/list,
// notifications, ping, the GET stream, DELETE). It lists the tools of every
// upstream under alias-prefixed names, keeps that list current as upstreams
// change or fail, and answers the rare tools/call that reaches it by
// calling the upstream itself.
//
// The MCP session id the sidecar issues is the gateway's client-facing
// session id; the ext_proc service keys upstream sessions on it.
package sidecar
