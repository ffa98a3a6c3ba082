package envoy

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// RouteConfigName names the single route table.
const RouteConfigName = "mcpgw"

// routeConfig is one catch-all route: the cluster comes from the
// x-mcp-cluster header that ext_proc sets on every request.
//
//   - timeout 0s: no upstream response deadline, SSE responses may run long.
//   - idle_timeout SSEIdleTimeout: see there.
//   - auto_host_rewrite: Host becomes the upstream endpoint's hostname
//     (set per cluster in clusters.go), so ext_proc never sets :authority.
//   - cluster_not_found_response_code 503: ext_proc always sets the header,
//     so an unknown or missing cluster is a gateway bug (a server error),
//     not a client error. The local-reply mapper turns it into a JSON-RPC
//     error naming "cluster_not_found". 503 is the proto's zero value, so
//     the rendered YAML omits the field; Envoy 1.40.0 answers 503 both for
//     an unknown cluster and for a missing header (checked in
//     TestEnvoyLive; the cluster_header doc's "404" is wrong).
//   - request_body_buffer_limit and the listener's
//     per_connection_buffer_limit_bytes are both MaxRequestBodyBytes: a
//     larger request body gets Envoy's 413 before ext_proc sees it (ext_proc
//     BUFFERED mode buffers in the filter manager). Measured on 1.40.0, the
//     effective limit is the larger of the two: the route value alone does
//     not lower the listener's 1 MiB default, and the listener value alone
//     is raised by a larger route value. So both are set.
//   - x-mcp-cluster is removed before the request goes upstream; routing
//     has already read it.
func routeConfig(p Params) *routev3.RouteConfiguration {
	return &routev3.RouteConfiguration{
		Name: RouteConfigName,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "mcpgw",
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:  "by_cluster_header",
				Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{
					ClusterSpecifier:            &routev3.RouteAction_ClusterHeader{ClusterHeader: wellknown.RouteHeader},
					ClusterNotFoundResponseCode: routev3.RouteAction_SERVICE_UNAVAILABLE,
					Timeout:                     durationpb.New(0),
					IdleTimeout:                 durationpb.New(SSEIdleTimeout),
					HostRewriteSpecifier:        &routev3.RouteAction_AutoHostRewrite{AutoHostRewrite: wrapperspb.Bool(true)},
				}},
				RequestBodyBufferLimit: wrapperspb.UInt64(uint64(p.MaxRequestBodyBytes)),
				RequestHeadersToRemove: []string{wellknown.RouteHeader},
			}},
		}},
	}
}
