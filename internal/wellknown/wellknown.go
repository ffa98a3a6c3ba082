// Package wellknown names the headers and Envoy clusters that the gateway's
// components agree on: the ext_proc service sets them, the generated Envoy
// config routes on them, the sidecar serves behind them.
package wellknown

const (
	// RouteHeader carries the Envoy cluster chosen by the ext_proc service.
	// The route uses it as cluster_header. Clients can never set it: the
	// ext_proc service overwrites it on every request.
	RouteHeader = "x-mcp-cluster"

	// ClientAddressHeader carries, on the admin web UI's and the admin
	// API's routes only, the address of the client's TCP connection to
	// Envoy (its direct peer, not x-forwarded-for): they limit failed
	// authentications by it. Envoy overwrites whatever the client sent.
	ClientAddressHeader = "x-mcpgw-client-address"

	// ExtProcCluster is the Envoy cluster of the ext_proc gRPC service.
	ExtProcCluster = "mcpgw_ext_proc"

	// SidecarCluster is the Envoy cluster of the adapter sidecar, which
	// answers everything the gateway itself serves (initialize, lists, GET
	// streams, DELETE) on the aggregated endpoint.
	SidecarCluster = "mcpgw_sidecar"

	// XDSCluster is the Envoy cluster of the gateway's ADS server, which
	// serves the upstream clusters and the route table (package
	// envoy/xds).
	XDSCluster = "mcpgw_xds"

	// AdminAPICluster is the Envoy cluster of the admin API (package
	// controlplane/admin): LiteLLM's /v1/mcp/server, /key/*, /team/*,
	// /organization/* paths, routed there without ext_proc.
	AdminAPICluster = "mcpgw_admin_api"

	// OTLPCluster is the Envoy cluster of the OTLP collector Envoy sends
	// its spans to, when tracing is on (package internal/telemetry).
	OTLPCluster = "mcpgw_otlp"

	// ExtProcFilterName is the HTTP filter name of ext_proc in the Envoy
	// config (per-route overrides are keyed by it).
	ExtProcFilterName = "envoy.filters.http.ext_proc"

	// MetadataNamespace is the dynamic metadata namespace the ext_proc
	// service writes what it learned about a request into (key alias,
	// server, tool, method, JSON-RPC error code, isError); Envoy's access
	// log reads it with %DYNAMIC_METADATA(mcpgw:...)%.
	MetadataNamespace = "mcpgw"

	// ExtProcHealthService is the service name Envoy's active health
	// check asks the ext_proc server's gRPC health service (grpc.health.v1)
	// about: the ext_proc service's own full name.
	ExtProcHealthService = "envoy.service.ext_proc.v3.ExternalProcessor"

	// SidecarHealthPath is what Envoy's active health check GETs on the
	// sidecar: 200 while it serves, 503 once it is stopping. Not an MCP
	// path (those end in /mcp), and never reachable through the
	// listener, whose requests ext_proc admits only on MCP paths.
	SidecarHealthPath = "/healthz"

	// ListenerReadyPath is answered by Envoy itself on the gateway's
	// listener (GET only): 200 while Envoy sees the ext_proc service and
	// the sidecar healthy and is not draining, else 503. For load
	// balancers and probes in front of Envoy.
	ListenerReadyPath = "/readyz"
	// FastPathDecidedBy is the value of MetadataNamespace:decided_by on
	// the calls Envoy's fast path decided itself (ext_proc sets none).
	FastPathDecidedBy = "envoy"
	// FastPathLogName is the log_name of Envoy's gRPC access logger that
	// sends the fast path's calls to the ext_proc server's access log
	// service, which writes their decision lines.
	FastPathLogName = "mcpgw_fast_path"
	// DirectListDecidedBy is MetadataNamespace:decided_by on the list
	// requests Envoy sent the sidecar directly, which the sidecar decided
	// itself with the router (docs/architecture.md, "Direct lists").
	DirectListDecidedBy = "sidecar"
	// DirectListHeader carries the gateway's direct-list token from
	// Envoy's direct route to the sidecar; every other route removes a
	// client's copy.
	DirectListHeader = "x-mcpgw-direct-list"
)

// AdminAPIPaths are the exact paths of the admin API, and
// AdminAPIPrefixes the prefixes of its paths with an id in them. Envoy
// routes just these to AdminAPICluster; every other path is MCP and goes
// through ext_proc. None of them is an MCP endpoint: those are /mcp,
// /mcp/<names>... and /<alias>/mcp, and a server alias cannot hold "/".
var (
	AdminAPIPaths = []string{
		"/v1/mcp/server", "/v1/mcp/server/health", "/v1/mcp/tools", "/v1/mcp/access_groups",
		"/key/generate", "/key/update", "/key/delete", "/key/info", "/key/list",
		"/team/new", "/team/update", "/team/delete", "/team/info", "/team/list",
		"/organization/new", "/organization/update", "/organization/delete", "/organization/info", "/organization/list",
		"/audit",
	}
	AdminAPIPrefixes = []string{"/v1/mcp/server/"}

	// UIPaths are the exact paths of the admin web UI (package
	// controlplane/ui), served on the admin API's listener and routed
	// like its paths (AdminAPICluster, ext_proc off). They are exact
	// paths, not a "/ui/" prefix, and ids travel in the query string:
	// a server whose alias is "ui" keeps its endpoint /ui/mcp.
	UIPaths = []string{
		"/ui", "/ui/", "/ui/login", "/ui/logout",
		"/ui/servers", "/ui/server", "/ui/server/delete", "/ui/tools",
		"/ui/keys", "/ui/keys/block", "/ui/keys/delete",
		"/ui/teams", "/ui/teams/delete", "/ui/connect", "/ui/access", "/ui/audit",
		"/ui/tryit", "/ui/tryit/key", "/ui/server/test", "/ui/tools/params",
		"/ui/static/ui.css", "/ui/static/ui.js", "/ui/static/favicon.svg",
		"/ui/key", "/ui/team", "/ui/orgs", "/ui/orgs/delete", "/ui/org",
	}
)
