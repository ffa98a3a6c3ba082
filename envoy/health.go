package envoy

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	healthcheckv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

const healthCheckFilterName = "envoy.filters.http.health_check"

// Active health checking of the gateway's own services. A second between
// checks and two failures in a row: a dead ext_proc service is seen
// within about 3 s (what /readyz then reports), one answer brings it
// back. no_traffic_interval is set to the same second because Envoy
// checks a cluster that has carried no traffic only once a minute by
// default, and a gateway that just started has carried none.
const (
	healthCheckInterval = time.Second
	healthCheckTimeout  = time.Second
)

// localHealthCheck is the active health check of a gateway-internal
// cluster: gRPC health (grpc.health.v1) for the ext_proc service, an HTTP
// GET of wellknown.SidecarHealthPath for the sidecar.
//
// A cluster none of whose hosts is healthy still gets its traffic (Envoy's
// panic mode routes to every host below 50% healthy), so a dead ext_proc
// service still fails every request closed (500), never open; health
// only decides what the listener's ready path and /readyz report.
func localHealthCheck(grpcHealth bool) *corev3.HealthCheck {
	hc := &corev3.HealthCheck{
		Interval:           durationpb.New(healthCheckInterval),
		NoTrafficInterval:  durationpb.New(healthCheckInterval),
		Timeout:            durationpb.New(healthCheckTimeout),
		UnhealthyThreshold: wrapperspb.UInt32(2),
		HealthyThreshold:   wrapperspb.UInt32(1),
	}
	if grpcHealth {
		hc.HealthChecker = &corev3.HealthCheck_GrpcHealthCheck_{GrpcHealthCheck: &corev3.HealthCheck_GrpcHealthCheck{
			ServiceName: wellknown.ExtProcHealthService,
		}}
	} else {
		hc.HealthChecker = &corev3.HealthCheck_HttpHealthCheck_{HttpHealthCheck: &corev3.HealthCheck_HttpHealthCheck{
			Path: wellknown.SidecarHealthPath,
		}}
	}
	return hc
}

// withHealthCheck adds an active health check to a local cluster.
func withHealthCheck(c *clusterv3.Cluster, grpcHealth bool) *clusterv3.Cluster {
	c.HealthChecks = []*corev3.HealthCheck{localHealthCheck(grpcHealth)}
	return c
}

// readyFilter answers GET wellknown.ListenerReadyPath on the gateway's
// listener itself, before ext_proc: 200 while Envoy sees a healthy host
// in both the ext_proc and the sidecar cluster and has not been told to
// fail health checks (the drain on shutdown does that), 503 otherwise.
// It is the readiness a load balancer or a Kubernetes probe in front of
// Envoy asks; no other path is touched.
func readyFilter() (*anypb.Any, error) {
	// Any healthy host: 1% of a cluster of fewer than 100 hosts is one.
	anyHealthy := &typev3.Percent{Value: 1}
	return typed("health check filter", &healthcheckv3.HealthCheck{
		PassThroughMode: wrapperspb.Bool(false),
		Headers: []*routev3.HeaderMatcher{
			{Name: ":path", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
				StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: wellknown.ListenerReadyPath}},
			}},
			{Name: ":method", HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{
				StringMatch: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "GET"}},
			}},
		},
		ClusterMinHealthyPercentages: map[string]*typev3.Percent{
			wellknown.ExtProcCluster: anyHealthy,
			wellknown.SidecarCluster: anyHealthy,
		},
	})
}
