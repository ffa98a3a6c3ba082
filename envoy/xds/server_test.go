package xds

import (
	"context"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/upstreams"
)

func httpUpstream(t *testing.T, alias, rawURL string) *upstreams.Upstream {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &upstreams.Upstream{Alias: alias, Transport: upstreams.TransportHTTP, URL: u, Cluster: upstreams.ClusterName(alias)}
}

// testUpstreams: two http servers, an adapted stdio server bound to the
// sidecar, and one not bound (no cluster).
func testUpstreams(t *testing.T) []*upstreams.Upstream {
	t.Helper()
	adapted := []*upstreams.Upstream{
		{Alias: "memory", Transport: upstreams.TransportStdio, Cluster: upstreams.ClusterName("memory"),
			Adapter: &upstreams.Adapter{Kind: upstreams.AdapterStdio, Command: "npx"}},
	}
	bound, err := upstreams.BindAdapters(adapted, "127.0.0.1:9003")
	if err != nil {
		t.Fatal(err)
	}
	return []*upstreams.Upstream{
		httpUpstream(t, "github", "https://api.githubcopilot.com/mcp/"),
		httpUpstream(t, "wiki", "http://10.0.0.5:8080/mcp"),
		bound[0],
		{Alias: "fs", Transport: upstreams.TransportStdio, Cluster: upstreams.ClusterName("fs")},
	}
}

func snapshotOf(t *testing.T, s *Server) (map[string]*clusterv3.Cluster, *routev3.RouteConfiguration, map[string]string) {
	t.Helper()
	snap, err := s.cache.GetSnapshot(envoy.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]*clusterv3.Cluster{}
	for name, r := range snap.GetResources(resource.ClusterType) {
		clusters[name] = r.(*clusterv3.Cluster)
	}
	routes := snap.GetResources(resource.RouteType)
	if len(routes) != 1 {
		t.Fatalf("%d route configurations", len(routes))
	}
	if err := snap.ConstructVersionMap(); err != nil {
		t.Fatal(err)
	}
	return clusters, routes[envoy.RouteConfigName].(*routev3.RouteConfiguration), snap.GetVersionMap(resource.ClusterType)
}

// The snapshot holds what package envoy builds for the static bootstrap:
// a cluster per routable upstream (the adapted one to the sidecar) and
// the one route table.
func TestSnapshotResources(t *testing.T) {
	s := New(nil)
	defer s.Stop()
	p := envoy.Params{Upstreams: testUpstreams(t), MaxRequestBodyBytes: 4096}
	v, err := s.Update(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if v != "1" {
		t.Errorf("first version %q", v)
	}
	clusters, routes, _ := snapshotOf(t, s)
	wantClusters, err := envoy.UpstreamClusters(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(clusters) != 3 || len(wantClusters) != 3 {
		t.Fatalf("clusters %v, want 3", slices.Collect(maps.Keys(clusters)))
	}
	for _, c := range wantClusters {
		if !proto.Equal(clusters[c.GetName()], c) {
			t.Errorf("cluster %s differs from envoy.UpstreamClusters", c.GetName())
		}
	}
	if got := clusters["mcp_upstream_memory"].GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress(); got.GetPortValue() != 9003 {
		t.Errorf("adapter cluster goes to %v, want the sidecar", got)
	}
	wantRoutes, err := envoy.RouteConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(routes, wantRoutes) {
		t.Errorf("route configuration differs from envoy.RouteConfig")
	}
	var names []string
	for _, r := range routes.GetVirtualHosts()[0].GetRoutes() {
		names = append(names, r.GetName())
	}
	if want := []string{"ready", "upstream:github", "upstream:wiki", "upstream:memory", "by_cluster_header"}; !slices.Equal(names, want) {
		t.Errorf("routes %v, want %v", names, want)
	}
	if got := routes.GetVirtualHosts()[0].GetRoutes()[1].GetRequestBodyBufferLimit().GetValue(); got != 4096 {
		t.Errorf("request_body_buffer_limit %d", got)
	}

	bad := envoy.Params{Upstreams: []*upstreams.Upstream{httpUpstream(t, "x", "ftp://x/")}}
	if _, err := s.Update(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("bad upstream: %v", err)
	}
	if s.version != 1 {
		t.Errorf("a refused update changed the version to %d", s.version)
	}
}

// Unchanged resources keep their versions across updates: delta xDS
// sends Envoy only what changed.
func TestResourceVersions(t *testing.T) {
	s := New(nil)
	defer s.Stop()
	ups := testUpstreams(t)
	if _, err := s.Update(t.Context(), envoy.Params{Upstreams: ups}); err != nil {
		t.Fatal(err)
	}
	_, _, before := snapshotOf(t, s)
	changed := *ups[1]
	changed.URL, _ = url.Parse("http://10.0.0.6:8080/mcp")
	if _, err := s.Update(t.Context(), envoy.Params{Upstreams: []*upstreams.Upstream{ups[0], &changed, ups[3]}}); err != nil {
		t.Fatal(err)
	}
	clusters, _, after := snapshotOf(t, s)
	if after["mcp_upstream_github"] != before["mcp_upstream_github"] || after["mcp_upstream_github"] == "" {
		t.Errorf("unchanged cluster's version %q → %q", before["mcp_upstream_github"], after["mcp_upstream_github"])
	}
	if after["mcp_upstream_wiki"] == before["mcp_upstream_wiki"] {
		t.Errorf("changed cluster kept version %q", after["mcp_upstream_wiki"])
	}
	if _, ok := clusters["mcp_upstream_memory"]; ok {
		t.Errorf("removed cluster still in the snapshot")
	}
}

// deltaClient is an ADS client speaking delta xDS like Envoy does.
type deltaClient struct {
	t      *testing.T
	stream discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
}

func connect(t *testing.T, s *Server) *deltaClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	go s.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///xds",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &deltaClient{t: t, stream: stream}
}

func (c *deltaClient) send(req *discoveryv3.DeltaDiscoveryRequest) {
	c.t.Helper()
	if err := c.stream.Send(req); err != nil {
		c.t.Fatal(err)
	}
}

func (c *deltaClient) recv() *discoveryv3.DeltaDiscoveryResponse {
	c.t.Helper()
	got := make(chan *discoveryv3.DeltaDiscoveryResponse, 1)
	go func() {
		r, err := c.stream.Recv()
		if err != nil {
			c.t.Error(err)
		}
		got <- r
	}()
	select {
	case r := <-got:
		if r == nil {
			c.t.FailNow()
		}
		return r
	case <-time.After(5 * time.Second):
		c.t.Fatal("no response from the xDS server")
		return nil
	}
}

func (c *deltaClient) ack(r *discoveryv3.DeltaDiscoveryResponse) {
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()})
}

func names(r *discoveryv3.DeltaDiscoveryResponse) []string {
	var out []string
	for _, res := range r.GetResources() {
		out = append(out, res.GetName())
	}
	slices.Sort(out)
	return out
}

func waitAcked(t *testing.T, s *Server, v string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	return s.WaitAcked(ctx, v)
}

// An update sends a connected Envoy only the clusters that changed and
// names the removed ones; WaitAcked follows its ACKs.
func TestDeltaUpdatesAndAcks(t *testing.T) {
	s := New(nil)
	defer s.Stop()
	ups := testUpstreams(t)
	v1, err := s.Update(t.Context(), envoy.Params{Upstreams: ups})
	if err != nil {
		t.Fatal(err)
	}
	if err := waitAcked(t, s, v1); err == nil {
		t.Fatal("WaitAcked without any Envoy connected returned nil")
	}

	c := connect(t, s)
	c.send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: envoy.NodeID}, TypeUrl: resource.ClusterType})
	cds := c.recv()
	if got, want := names(cds), []string{"mcp_upstream_github", "mcp_upstream_memory", "mcp_upstream_wiki"}; !slices.Equal(got, want) {
		t.Fatalf("initial clusters %v, want %v", got, want)
	}
	c.ack(cds)
	// Clusters alone are not the whole version: routes are missing.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	if err := s.WaitAcked(ctx, v1); err == nil {
		t.Error("WaitAcked returned before the routes were acknowledged")
	}
	cancel()
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.RouteType, ResourceNamesSubscribe: []string{envoy.RouteConfigName}})
	rds := c.recv()
	if got := names(rds); !slices.Equal(got, []string{envoy.RouteConfigName}) {
		t.Fatalf("routes %v", got)
	}
	c.ack(rds)
	if err := waitAcked(t, s, v1); err != nil {
		t.Fatal(err)
	}

	// wiki's timeout changes (its route, not its cluster), memory goes,
	// docs comes.
	wiki := *ups[1]
	wiki.Timeout = 5 * time.Second
	next := []*upstreams.Upstream{ups[0], &wiki, httpUpstream(t, "docs", "http://127.0.0.1:8081/mcp")}
	v2, err := s.Update(t.Context(), envoy.Params{Upstreams: next})
	if err != nil {
		t.Fatal(err)
	}
	cds = c.recv()
	if got := names(cds); !slices.Equal(got, []string{"mcp_upstream_docs"}) {
		t.Errorf("update sent clusters %v, want only the new one", got)
	}
	if got := cds.GetRemovedResources(); !slices.Equal(got, []string{"mcp_upstream_memory"}) {
		t.Errorf("removed %v", got)
	}
	if cds.GetSystemVersionInfo() != v2 {
		t.Errorf("system_version_info %q, want %q", cds.GetSystemVersionInfo(), v2)
	}
	c.ack(cds)
	rds = c.recv()
	if rds.GetTypeUrl() != resource.RouteType {
		t.Fatalf("got %s, want the routes", rds.GetTypeUrl())
	}
	var rc routev3.RouteConfiguration
	if err := rds.GetResources()[0].GetResource().UnmarshalTo(&rc); err != nil {
		t.Fatal(err)
	}
	if got := rc.GetVirtualHosts()[0].GetRoutes()[2].GetRoute().GetTimeout().AsDuration(); got != 5*time.Second {
		t.Errorf("wiki's route timeout %v", got)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	if err := s.WaitAcked(ctx, v2); err == nil {
		t.Error("WaitAcked returned before the routes were acknowledged")
	}
	cancel()
	c.ack(rds)
	if err := waitAcked(t, s, v2); err != nil {
		t.Fatal(err)
	}
	if err := waitAcked(t, s, v1); err != nil {
		t.Errorf("an older version: %v", err)
	}

	// The same upstreams again: a new version, nothing to send, held at
	// once.
	v3, err := s.Update(t.Context(), envoy.Params{Upstreams: next})
	if err != nil {
		t.Fatal(err)
	}
	if err := waitAcked(t, s, v3); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAcked(t.Context(), "9"); err == nil {
		t.Error("WaitAcked of a version not yet made returned nil")
	}

	// A NACK ends the wait at once with Envoy's reason.
	v4, err := s.Update(t.Context(), envoy.Params{Upstreams: next[:1]})
	if err != nil {
		t.Fatal(err)
	}
	cds = c.recv()
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.ClusterType, ResponseNonce: cds.GetNonce(),
		ErrorDetail: &status.Status{Code: 3, Message: "bad cluster"}})
	if err := waitAcked(t, s, v4); err == nil || !strings.Contains(err.Error(), "bad cluster") {
		t.Errorf("after a NACK: %v", err)
	}
}

// A reconnecting Envoy names what it holds; nothing it holds is sent
// again and it holds the version once it has the rest.
func TestReconnectWithInitialVersions(t *testing.T) {
	s := New(nil)
	defer s.Stop()
	p := envoy.Params{Upstreams: testUpstreams(t)}
	v, err := s.Update(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	_, _, versions := snapshotOf(t, s)
	snap, _ := s.cache.GetSnapshot(envoy.NodeID)
	routeVersions := snap.GetVersionMap(resource.RouteType)

	c := connect(t, s)
	c.send(&discoveryv3.DeltaDiscoveryRequest{Node: &corev3.Node{Id: "another-node"}, TypeUrl: resource.ClusterType, InitialResourceVersions: versions})
	if cds := c.recv(); len(cds.GetResources()) != 0 {
		t.Errorf("clusters Envoy holds were sent again: %v", names(cds))
	} else {
		c.ack(cds)
	}
	c.send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.RouteType, ResourceNamesSubscribe: []string{envoy.RouteConfigName}, InitialResourceVersions: routeVersions})
	if err := waitAcked(t, s, v); err != nil {
		t.Fatal(err)
	}
}
