package envoy

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

const (
	// localConnectTimeout is for the gateway's own services (ext_proc,
	// sidecar), which run next to Envoy.
	localConnectTimeout = 2 * time.Second
	// upstreamConnectTimeout is for remote MCP servers (includes TLS).
	upstreamConnectTimeout = 5 * time.Second
	// maxStreams raises every cluster's circuit breakers from Envoy's 1024.
	// Each open request holds one ext_proc stream for its whole life, and
	// every SSE stream holds an HTTP/1.1 connection to the sidecar or an
	// upstream, so 1024 would cap the gateway at 1024 open SSE streams.
	maxStreams = 10000

	httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
)

// staticClusters returns the bootstrap's clusters: ext_proc, sidecar, then
// either the xDS server's cluster (the upstream clusters come over xDS)
// or one cluster per upstream in Params order.
func staticClusters(p Params) ([]*clusterv3.Cluster, error) {
	extProc, err := localCluster(wellknown.ExtProcCluster, p.ExtProcAddress, true)
	if err != nil {
		return nil, err
	}
	sidecar, err := localCluster(wellknown.SidecarCluster, p.SidecarAddress, false)
	if err != nil {
		return nil, err
	}
	out := []*clusterv3.Cluster{withHealthCheck(extProc, true), withHealthCheck(sidecar, false)}
	if p.AdminAPIAddress != "" {
		admin, err := localCluster(wellknown.AdminAPICluster, p.AdminAPIAddress, false)
		if err != nil {
			return nil, err
		}
		out = append(out, admin)
	}
	if p.Tracing != nil {
		otlp, err := tracingCluster(p.Tracing, p.CAFile)
		if err != nil {
			return nil, err
		}
		out = append(out, otlp)
	}
	if p.XDSAddress != "" {
		xds, err := localCluster(wellknown.XDSCluster, p.XDSAddress, true)
		if err != nil {
			return nil, err
		}
		return append(out, xds), nil
	}
	ups, err := upstreamClusters(p)
	if err != nil {
		return nil, err
	}
	return append(out, ups...), nil
}

// UpstreamClusters returns one cluster per upstream of p that Envoy
// reaches directly, in Params order: Streamable HTTP servers, and adapted
// servers bound to the sidecar's adapter endpoint. It reads p's
// Upstreams and CAFile; the static bootstrap and the xDS server (package
// envoy/xds) both serve what it builds.
func UpstreamClusters(p Params) ([]*clusterv3.Cluster, error) {
	p = p.withDefaults()
	if err := p.validateRouting(); err != nil {
		return nil, err
	}
	return upstreamClusters(p)
}

func upstreamClusters(p Params) ([]*clusterv3.Cluster, error) {
	var out []*clusterv3.Cluster
	for _, u := range p.Upstreams {
		if skipCluster(u) {
			continue // no endpoint yet: served by the sidecar
		}
		c, err := upstreamCluster(u, p.CAFile)
		if err != nil {
			return nil, err
		}
		if err := c.ValidateAll(); err != nil {
			return nil, fmt.Errorf("envoy: invalid cluster %s: %w", c.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// localCluster is a gateway-internal service: STATIC for an IP address,
// STRICT_DNS for a name (all addresses are used, e.g. replicas behind a
// headless service). http2 is for gRPC.
func localCluster(name, addr string, http2 bool) (*clusterv3.Cluster, error) {
	hosts, err := splitAddressList(addr)
	if err != nil {
		return nil, fmt.Errorf("envoy: cluster %s: %w", name, err)
	}
	opts, err := protocolOptions(http2)
	if err != nil {
		return nil, err
	}
	typ := clusterv3.Cluster_STRICT_DNS
	if isIP(hosts[0].host) {
		typ = clusterv3.Cluster_STATIC
	}
	la := loadAssignment(name, hosts[0].host, hosts[0].port, "")
	for _, h := range hosts[1:] {
		la.Endpoints[0].LbEndpoints = append(la.Endpoints[0].LbEndpoints, &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(h.host, h.port)}},
		})
	}
	return &clusterv3.Cluster{
		Name:                          name,
		ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: typ},
		DnsLookupFamily:               lookupFamily(typ),
		ConnectTimeout:                durationpb.New(localConnectTimeout),
		LoadAssignment:                la,
		TypedExtensionProtocolOptions: map[string]*anypb.Any{httpProtocolOptionsKey: opts},
		CircuitBreakers:               circuitBreakers(),
	}, nil
}

// upstreamCluster carries calls to one Streamable HTTP MCP server.
//
// LOGICAL_DNS (STATIC for an IP) suits remote services behind load
// balancers: one address at a time, re-resolved as DNS changes. The
// endpoint hostname is what the route's auto_host_rewrite puts in Host:
// the URL's host, plus the port when it is not the scheme's default (what
// an HTTP client would send; MCP servers that check Host for DNS-rebinding
// protection compare it). https upstreams get TLS with SNI and
// certificate name checks for that host.
func upstreamCluster(u *upstreams.Upstream, caFile string) (*clusterv3.Cluster, error) {
	host, port, err := u.HostPort()
	if err != nil {
		return nil, fmt.Errorf("envoy: cluster %s: %w", u.Cluster, err)
	}
	opts, err := protocolOptions(false)
	if err != nil {
		return nil, err
	}
	typ := clusterv3.Cluster_LOGICAL_DNS
	if isIP(host) {
		typ = clusterv3.Cluster_STATIC
	}
	c := &clusterv3.Cluster{
		Name:                          u.Cluster,
		ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: typ},
		DnsLookupFamily:               lookupFamily(typ),
		ConnectTimeout:                durationpb.New(upstreamConnectTimeout),
		LoadAssignment:                loadAssignment(u.Cluster, host, port, hostHeader(u, host, port)),
		TypedExtensionProtocolOptions: map[string]*anypb.Any{httpProtocolOptionsKey: opts},
		CircuitBreakers:               circuitBreakers(),
	}
	if u.TLS() {
		ts, err := tlsTransportSocket(host, caFile)
		if err != nil {
			return nil, fmt.Errorf("envoy: cluster %s: %w", u.Cluster, err)
		}
		c.TransportSocket = ts
	}
	return c, nil
}

// hostHeader is the Host value for u: host, or host:port for a port that is
// not the scheme's default. IPv6 hosts are bracketed.
func hostHeader(u *upstreams.Upstream, host string, port int) string {
	if (u.TLS() && port == 443) || (!u.TLS() && port == 80) {
		if isIP(host) && netip.MustParseAddr(host).Is6() {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// lookupFamily prefers IPv4 for DNS clusters. Envoy's default AUTO uses an
// AAAA record whenever one exists, which fails on hosts and containers
// without an IPv6 route; V4_PREFERRED falls back to AAAA only when there
// is no A record.
func lookupFamily(typ clusterv3.Cluster_DiscoveryType) clusterv3.Cluster_DnsLookupFamily {
	if typ == clusterv3.Cluster_STATIC {
		return clusterv3.Cluster_AUTO // unused
	}
	return clusterv3.Cluster_V4_PREFERRED
}

func isIP(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// loadAssignment is a single endpoint; hostname "" leaves Envoy's default.
func loadAssignment(cluster, host string, port int, hostname string) *endpointv3.ClusterLoadAssignment {
	return &endpointv3.ClusterLoadAssignment{
		ClusterName: cluster,
		Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address:  socketAddress(host, port),
					Hostname: hostname,
				}},
			}},
		}},
	}
}

// protocolOptions pins the upstream protocol: HTTP/2 (required for gRPC)
// or HTTP/1.1.
func protocolOptions(http2 bool) (*anypb.Any, error) {
	explicit := &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
		ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{
			HttpProtocolOptions: &corev3.Http1ProtocolOptions{},
		},
	}
	if http2 {
		explicit.ProtocolConfig = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{
			Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
		}
	}
	return typed("http protocol options", &httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: explicit},
	})
}

func circuitBreakers() *clusterv3.CircuitBreakers {
	return &clusterv3.CircuitBreakers{Thresholds: []*clusterv3.CircuitBreakers_Thresholds{{
		Priority:           corev3.RoutingPriority_DEFAULT,
		MaxConnections:     wrapperspb.UInt32(maxStreams),
		MaxPendingRequests: wrapperspb.UInt32(maxStreams),
		MaxRequests:        wrapperspb.UInt32(maxStreams),
	}}}
}

type hostPort struct {
	host string
	port int
}

// splitAddressList parses "host:port[,host:port…]". A list of several must
// be IP addresses (one STATIC cluster); a DNS name stands alone (STRICT_DNS
// already uses every address it resolves to).
func splitAddressList(list string) ([]hostPort, error) {
	var out []hostPort
	for _, a := range strings.Split(list, ",") {
		h, p, err := splitHostPort(strings.TrimSpace(a))
		if err != nil {
			return nil, err
		}
		out = append(out, hostPort{h, p})
	}
	if len(out) > 1 {
		for _, h := range out {
			if !isIP(h.host) {
				return nil, fmt.Errorf("%q: a list of several addresses must be IP addresses", list)
			}
		}
	}
	return out, nil
}
