// Package envoy renders the gateway's Envoy bootstrap from a plain [Params]
// value.
//
// The configuration is built from go-control-plane's typed protos (one
// builder per resource: listener, route, clusters, ext_proc, local replies),
// validated with the protos' generated ValidateAll, and rendered as YAML by
// [Render]. The same builders feed the xDS server (package envoy/xds):
// with [Params] XDSAddress set, the bootstrap keeps the listener and the
// gateway's own clusters and takes the upstream clusters
// ([UpstreamClusters]) and the route table ([RouteConfig]) from it.
//
// The request path it sets up is:
//
//	client → listener → HCM → ext_proc (decides, sets x-mcp-cluster)
//	       → router (cluster_header: x-mcp-cluster) → upstream or sidecar
//
// Envoy's own local replies (413 body too large, 5xx from ext_proc or
// routing failures) are rewritten to JSON-RPC error bodies; replies the
// ext_proc service sends itself (ImmediateResponse with a content-type) are
// left as they are. See localreply.go.
//
// Target Envoy version: [EnvoyVersion] (scripts/ensure-envoy.sh fetches it).
package envoy
