package envoy

import (
	"fmt"
	"strconv"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

// RouteConfigName names the single route table.
const RouteConfigName = "mcpgw"

// routeMetadataNamespace is the route metadata namespace the local-reply
// mappers read: an upstream route's server alias and call timeout.
const routeMetadataNamespace = "mcpgw"

// RouteConfig returns the route table (named RouteConfigName) for p's
// Upstreams and MaxRequestBodyBytes; see routeConfig. The static
// bootstrap and the xDS server (package envoy/xds) both serve what it
// builds.
func RouteConfig(p Params) (*routev3.RouteConfiguration, error) {
	p = p.withDefaults()
	if err := p.validateRouting(); err != nil {
		return nil, err
	}
	rc, err := routeConfig(p)
	if err != nil {
		return nil, err
	}
	if err := rc.ValidateAll(); err != nil {
		return nil, fmt.Errorf("envoy: invalid route configuration: %w", err)
	}
	return rc, nil
}

// routeConfig routes on the x-mcp-cluster header that ext_proc sets on
// every request: one route per upstream cluster, which carries that
// server's call deadline and its name (for the errors Envoy answers
// itself), then a catch-all for the sidecar.
//
//   - Upstream routes: timeout is the server's (LiteLLM's per-server
//     timeout, default 60 s), from the request sent to the answer
//     complete; when it passes before the answer starts, Envoy answers
//     504 and the local-reply mapper turns it into a JSON-RPC error naming
//     the server (once the answer has started, the stream is reset).
//   - The catch-all (sidecar: initialize, lists, GET event streams) has
//     timeout 0s: SSE responses may run long. An unknown cluster there is
//     a gateway bug: cluster_not_found_response_code 503, which the
//     mapper turns into a JSON-RPC error naming "cluster_not_found". 503
//     is the proto's zero value, so the rendered YAML omits the field;
//     Envoy 1.40.0 answers 503 both for an unknown cluster and for a
//     missing header (checked in TestEnvoyLive; the cluster_header doc's
//     "404" is wrong).
//   - idle_timeout SSEIdleTimeout: see there.
//   - auto_host_rewrite: Host becomes the upstream endpoint's hostname
//     (set per cluster in clusters.go), so ext_proc never sets :authority.
//   - request_body_buffer_limit and the listener's
//     per_connection_buffer_limit_bytes are both MaxRequestBodyBytes: a
//     larger request body gets Envoy's 413 before ext_proc sees it (ext_proc
//     BUFFERED mode buffers in the filter manager). Measured on 1.40.0, the
//     effective limit is the larger of the two: the route value alone does
//     not lower the listener's 1 MiB default, and the listener value alone
//     is raised by a larger route value. So both are set.
//   - x-mcp-cluster is removed before the request goes upstream; routing
//     has already read it. A client's forged copy may pick a route before
//     ext_proc runs; ext_proc overwrites it and clears the route cache, so
//     it never decides where a request goes.
func routeConfig(p Params) (*routev3.RouteConfiguration, error) {
	routes := []*routev3.Route{readyRoute()}
	if p.AdminAPIAddress != "" {
		routes = append(routes, adminAPIRoutes()...)
	}
	// The fast path's routes go ahead of the upstream routes: a client's
	// forged x-mcp-cluster keeps a request off its candidate routes. The
	// routes that match on a decision (the direct-list route, the fast
	// routes) go ahead of the candidate routes, which match the request
	// again after the decision.
	fast, err := fastPathRoutes(p)
	if err != nil {
		return nil, err
	}
	direct, listCandidate := directListRoutes(p)
	if direct != nil {
		routes = append(routes, direct)
	}
	routes = append(routes, fast...)
	if listCandidate != nil {
		routes = append(routes, listCandidate)
	}
	for _, u := range p.Upstreams {
		if !skipCluster(u) {
			routes = append(routes, upstreamRoute(u, p))
		}
	}
	routes = append(routes, catchAllRoute(p))
	return &routev3.RouteConfiguration{
		Name: RouteConfigName,
		VirtualHosts: []*routev3.VirtualHost{{
			Name:    "mcpgw",
			Domains: []string{"*"},
			Routes:  routes,
		}},
	}, nil
}

// catchAllRoute sends a request to the cluster its x-mcp-cluster names:
// the sidecar's, or (when ext_proc did not route it) none.
func catchAllRoute(p Params) *routev3.Route {
	return &routev3.Route{
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
		RequestHeadersToRemove: []string{wellknown.RouteHeader, wellknown.DirectListHeader},
	}
}

// noExtProc is the per-route config that turns ext_proc off.
func noExtProc() *anypb.Any {
	a, err := anypb.New(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Disabled{Disabled: true}})
	if err != nil {
		panic(err) // a constant message: cannot fail
	}
	return a
}

// readyRoute is the listener's ready path (GET, exact), with ext_proc
// off: the health check filter answers it (see readyFilter) from what
// Envoy knows, even with the ext_proc service down. Its own answer, a
// 503, is only reached by a method the filter does not take.
func readyRoute() *routev3.Route {
	return &routev3.Route{
		Name:  "ready",
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: wellknown.ListenerReadyPath}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: 503,
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "GET only\n"}},
		}},
		TypedPerFilterConfig:   map[string]*anypb.Any{wellknown.ExtProcFilterName: noExtProc()},
		RequestHeadersToRemove: []string{wellknown.RouteHeader, wellknown.DirectListHeader},
	}
}

// adminAPIRoutes send the admin API's paths to its cluster, ahead of
// every other route (they match on the path alone, so a forged
// x-mcp-cluster cannot pick another), with ext_proc off: the admin API
// authenticates each request with the master key itself, and its bodies
// are not JSON-RPC. Paths match exactly as sent (this listener does not
// normalize them), so the admin API's server only ever receives its own
// paths: /mcp/../key/generate is an MCP path, decided by ext_proc like
// any other, and /key/generate/../../mcp is not an admin path either.
func adminAPIRoutes() []*routev3.Route {
	noExtProc := noExtProc()
	route := func(name string, m *routev3.RouteMatch) *routev3.Route {
		return &routev3.Route{
			Name:  name,
			Match: m,
			Action: &routev3.Route_Route{Route: &routev3.RouteAction{
				ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: wellknown.AdminAPICluster},
			}},
			TypedPerFilterConfig:   map[string]*anypb.Any{wellknown.ExtProcFilterName: noExtProc},
			RequestHeadersToRemove: []string{wellknown.RouteHeader, wellknown.DirectListHeader},
			// The admin API and the UI limit failed authentications per
			// client: Envoy tells them the TCP peer (not x-forwarded-for,
			// which this listener does not trust), overwriting whatever
			// the client sent.
			RequestHeadersToAdd: []*corev3.HeaderValueOption{{
				Header:       &corev3.HeaderValue{Key: wellknown.ClientAddressHeader, Value: "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%"},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			}},
		}
	}
	var routes []*routev3.Route
	for _, path := range wellknown.AdminAPIPaths {
		routes = append(routes, route("admin_api:"+path, &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: path}}))
	}
	for _, prefix := range wellknown.AdminAPIPrefixes {
		routes = append(routes, route("admin_api:"+prefix, &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}}))
	}
	// The web UI is served on the same listener (internal/gateway).
	for _, path := range wellknown.UIPaths {
		routes = append(routes, route("ui:"+path, &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: path}}))
	}
	return routes
}

// upstreamRoute carries the calls ext_proc routes to u: those whose
// x-mcp-cluster names u's cluster.
func upstreamRoute(u *upstreams.Upstream, p Params) *routev3.Route {
	timeout := u.CallTimeout()
	meta, _ := structpb.NewStruct(map[string]any{
		"server":  u.Alias,
		"timeout": strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64) + "s",
	})
	return &routev3.Route{
		Name: "upstream:" + u.Alias,
		Match: &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			Headers: []*routev3.HeaderMatcher{{
				Name: wellknown.RouteHeader,
				HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: &matcherv3.StringMatcher{
					MatchPattern: &matcherv3.StringMatcher_Exact{Exact: u.Cluster},
				}},
			}},
		},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier:     &routev3.RouteAction_Cluster{Cluster: u.Cluster},
			Timeout:              durationpb.New(timeout),
			IdleTimeout:          durationpb.New(SSEIdleTimeout),
			HostRewriteSpecifier: &routev3.RouteAction_AutoHostRewrite{AutoHostRewrite: wrapperspb.Bool(true)},
		}},
		Metadata:               &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{routeMetadataNamespace: meta}},
		RequestBodyBufferLimit: wrapperspb.UInt64(uint64(p.MaxRequestBodyBytes)),
		RequestHeadersToRemove: []string{wellknown.RouteHeader, wellknown.DirectListHeader},
	}
}
