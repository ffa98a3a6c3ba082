// Package sidecar serves the gateway's aggregated MCP endpoint: Envoy sends
// it everything that is not routed to one upstream (initialize, the lists,
// notifications, ping, the GET stream, DELETE). It lists the tools, prompts,
// resources and resource templates of every upstream in the request's
// scope, under alias-prefixed names and encoded URIs, from discovery's
// cache; keeps them current as upstreams change or fail; merges the
// upstreams' capabilities into initialize; and answers the rare
// tools/call, prompts/get or resources/read that reaches it by asking the
// upstream itself.
//
// The MCP session id the sidecar issues is the gateway's client-facing
// session id; the ext_proc service keys upstream sessions on it.
package aggregate
