package envoy

import (
	"testing"

	healthcheckv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/health_check/v3"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// TestHealthChecks: Envoy actively checks the ext_proc service (gRPC
// health) and the sidecar (HTTP), and answers the ready path itself from
// their health; upstream clusters are not checked.
func TestHealthChecks(t *testing.T) {
	b, err := Bootstrap(baseParams(t))
	if err != nil {
		t.Fatal(err)
	}
	clusters := clustersByName(b)
	ext := clusters[wellknown.ExtProcCluster].GetHealthChecks()
	if len(ext) != 1 || ext[0].GetGrpcHealthCheck().GetServiceName() != wellknown.ExtProcHealthService {
		t.Errorf("ext_proc health checks = %v", ext)
	}
	side := clusters[wellknown.SidecarCluster].GetHealthChecks()
	if len(side) != 1 || side[0].GetHttpHealthCheck().GetPath() != wellknown.SidecarHealthPath {
		t.Errorf("sidecar health checks = %v", side)
	}
	for _, hc := range append(ext, side...) {
		// A cluster without traffic is otherwise checked once a minute.
		if hc.GetNoTrafficInterval().AsDuration() != healthCheckInterval || hc.GetInterval().AsDuration() != healthCheckInterval {
			t.Errorf("intervals = %v / %v", hc.GetInterval(), hc.GetNoTrafficInterval())
		}
	}
	for name, c := range clusters {
		if name != wellknown.ExtProcCluster && name != wellknown.SidecarCluster && len(c.GetHealthChecks()) != 0 {
			t.Errorf("cluster %s is health checked", name)
		}
	}
	f := hcmOf(t, b).GetHttpFilters()[1]
	hc := unpack(t, f.GetTypedConfig(), &healthcheckv3.HealthCheck{})
	if hc.GetPassThroughMode().GetValue() {
		t.Error("the ready path is passed through")
	}
	if got := hc.GetHeaders()[0].GetStringMatch().GetExact(); got != wellknown.ListenerReadyPath {
		t.Errorf("ready path = %q", got)
	}
	for _, c := range []string{wellknown.ExtProcCluster, wellknown.SidecarCluster} {
		if hc.GetClusterMinHealthyPercentages()[c] == nil {
			t.Errorf("ready path ignores %s", c)
		}
	}
	// Its route comes first and turns ext_proc off: with the ext_proc
	// service down the path must still be answered.
	route := hcmOf(t, b).GetRouteConfig().GetVirtualHosts()[0].GetRoutes()[0]
	if route.GetMatch().GetPath() != wellknown.ListenerReadyPath || route.GetTypedPerFilterConfig()[wellknown.ExtProcFilterName] == nil {
		t.Errorf("first route = %v", route)
	}
}
