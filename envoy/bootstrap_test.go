package envoy

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	grpcalsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/grpc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

func unpack[T proto.Message](t *testing.T, a *anypb.Any, m T) T {
	t.Helper()
	if err := a.UnmarshalTo(m); err != nil {
		t.Fatalf("unpack %s: %v", a.GetTypeUrl(), err)
	}
	return m
}

func hcmOf(t *testing.T, b *bootstrapv3.Bootstrap) *hcmv3.HttpConnectionManager {
	t.Helper()
	f := b.GetStaticResources().GetListeners()[0].GetFilterChains()[0].GetFilters()[0]
	return unpack(t, f.GetTypedConfig(), &hcmv3.HttpConnectionManager{})
}

func extProcOf(t *testing.T, h *hcmv3.HttpConnectionManager) *extprocv3.ExternalProcessor {
	t.Helper()
	for _, f := range h.GetHttpFilters() {
		if f.GetName() == wellknown.ExtProcFilterName {
			return unpack(t, f.GetTypedConfig(), &extprocv3.ExternalProcessor{})
		}
	}
	t.Fatal("no ext_proc filter")
	return nil
}

func fileLogOf(t *testing.T, h *hcmv3.HttpConnectionManager) *filev3.FileAccessLog {
	t.Helper()
	return unpack(t, h.GetAccessLog()[0].GetTypedConfig(), &filev3.FileAccessLog{})
}

// routeOf is the catch-all route (the last).
func routeOf(t *testing.T, h *hcmv3.HttpConnectionManager) *routev3.Route {
	t.Helper()
	routes := h.GetRouteConfig().GetVirtualHosts()[0].GetRoutes()
	return routes[len(routes)-1]
}

func clustersByName(b *bootstrapv3.Bootstrap) map[string]*clusterv3.Cluster {
	m := map[string]*clusterv3.Cluster{}
	for _, c := range b.GetStaticResources().GetClusters() {
		m[c.GetName()] = c
	}
	return m
}

func TestFilterChain(t *testing.T) {
	b, err := Bootstrap(baseParams(t))
	if err != nil {
		t.Fatal(err)
	}
	hcm := hcmOf(t, b)
	filters := hcm.GetHttpFilters()
	if len(filters) != 3 || filters[0].GetName() != wellknown.ExtProcFilterName || filters[1].GetName() != healthCheckFilterName || filters[2].GetName() != routerFilterName {
		t.Fatalf("http filters = %v", filters)
	}
	if hcm.GetCodecType() != hcmv3.HttpConnectionManager_AUTO || hcm.GetStreamIdleTimeout().AsDuration() != SSEIdleTimeout {
		t.Errorf("hcm codec %v, stream_idle_timeout %v", hcm.GetCodecType(), hcm.GetStreamIdleTimeout())
	}
	ep := extProcOf(t, hcm)
	if got := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(); got != wellknown.ExtProcCluster {
		t.Errorf("ext_proc cluster = %q", got)
	}
	want := &extprocv3.ProcessingMode{
		RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
		RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
		RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
		ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
		ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
		ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
	if !proto.Equal(ep.GetProcessingMode(), want) {
		t.Errorf("processing_mode = %v", ep.GetProcessingMode())
	}
	if ep.GetFailureModeAllow() || ep.GetRouteCacheAction() != extprocv3.ExternalProcessor_CLEAR {
		t.Errorf("failure_mode_allow %v, route_cache_action %v", ep.GetFailureModeAllow(), ep.GetRouteCacheAction())
	}

	r := routeOf(t, hcm)
	ra := r.GetRoute()
	if ra.GetClusterHeader() != wellknown.RouteHeader || ra.GetTimeout().AsDuration() != 0 ||
		!ra.GetAutoHostRewrite().GetValue() || ra.GetIdleTimeout().AsDuration() != SSEIdleTimeout ||
		ra.GetClusterNotFoundResponseCode() != routev3.RouteAction_SERVICE_UNAVAILABLE {
		t.Errorf("route action = %v", ra)
	}
	if r.GetMatch().GetPrefix() != "/" || !slices.Equal(r.GetRequestHeadersToRemove(), []string{wellknown.RouteHeader, wellknown.DirectListHeader}) {
		t.Errorf("route = %v", r)
	}
	if n := len(hcm.GetLocalReplyConfig().GetMappers()); n != 7 {
		t.Errorf("%d local reply mappers", n)
	}
	if got := hcm.GetRequestTimeout().AsDuration(); got != DefaultRequestTimeout {
		t.Errorf("request_timeout %v", got)
	}
}

// Each upstream cluster has a route of its own, ahead of the catch-all,
// chosen by the x-mcp-cluster ext_proc sets, that carries the server's
// call deadline and, for the local-reply mappers, its name.
func TestUpstreamRoutes(t *testing.T) {
	p := baseParams(t)
	p.Upstreams[1].Timeout = 2500 * time.Millisecond
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	routes := hcmOf(t, b).GetRouteConfig().GetVirtualHosts()[0].GetRoutes()
	if len(routes) != 4 || routes[0].GetName() != "ready" {
		t.Fatalf("%d routes, want the ready path's, 2 upstreams and the catch-all", len(routes))
	}
	routes = routes[1:]
	for i, want := range []struct {
		alias, timeout string
		d              time.Duration
	}{{"github", "60s", 60 * time.Second}, {"wiki", "2.5s", 2500 * time.Millisecond}} {
		r := routes[i]
		hm := r.GetMatch().GetHeaders()
		if len(hm) != 1 || hm[0].GetName() != wellknown.RouteHeader || hm[0].GetStringMatch().GetExact() != upstreams.ClusterName(want.alias) {
			t.Errorf("%s: match %v", want.alias, r.GetMatch())
		}
		ra := r.GetRoute()
		if ra.GetCluster() != upstreams.ClusterName(want.alias) || ra.GetTimeout().AsDuration() != want.d || !ra.GetAutoHostRewrite().GetValue() {
			t.Errorf("%s: action %v", want.alias, ra)
		}
		meta := r.GetMetadata().GetFilterMetadata()[routeMetadataNamespace].GetFields()
		if meta["server"].GetStringValue() != want.alias || meta["timeout"].GetStringValue() != want.timeout {
			t.Errorf("%s: metadata %v", want.alias, meta)
		}
		if !slices.Equal(r.GetRequestHeadersToRemove(), []string{wellknown.RouteHeader, wellknown.DirectListHeader}) || r.GetRequestBodyBufferLimit().GetValue() != DefaultMaxRequestBodyBytes {
			t.Errorf("%s: route %v", want.alias, r)
		}
	}
}

func TestClusters(t *testing.T) {
	p := baseParams(t)
	p.Upstreams = append(p.Upstreams,
		upstream(t, "ip", "https://10.1.2.3/mcp"),
		&upstreams.Upstream{Alias: "fs", Transport: upstreams.TransportStdio, Cluster: upstreams.ClusterName("fs")},
		&upstreams.Upstream{Alias: "old", Transport: upstreams.TransportSSE, Cluster: upstreams.ClusterName("old"), URL: &url.URL{Scheme: "http", Host: "old:1"}},
	)
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	cs := clustersByName(b)
	if len(cs) != 5 {
		t.Errorf("clusters: %v", keys(cs))
	}
	for _, name := range []string{"mcp_upstream_fs", "mcp_upstream_old"} {
		if cs[name] != nil {
			t.Errorf("cluster %s for a non-http upstream", name)
		}
	}

	tests := []struct {
		cluster  string
		typ      clusterv3.Cluster_DiscoveryType
		http2    bool
		hostname string // endpoint hostname, i.e. the Host header
		sni      string // "-" = no TLS
		san      string
	}{
		{wellknown.ExtProcCluster, clusterv3.Cluster_STATIC, true, "", "-", ""},
		{wellknown.SidecarCluster, clusterv3.Cluster_STATIC, false, "", "-", ""},
		{"mcp_upstream_github", clusterv3.Cluster_LOGICAL_DNS, false, "api.githubcopilot.com", "api.githubcopilot.com", "api.githubcopilot.com"},
		{"mcp_upstream_wiki", clusterv3.Cluster_LOGICAL_DNS, false, "wiki.internal:8080", "-", ""},
		{"mcp_upstream_ip", clusterv3.Cluster_STATIC, false, "10.1.2.3", "", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			c := cs[tt.cluster]
			if c == nil {
				t.Fatal("missing")
			}
			if c.GetType() != tt.typ {
				t.Errorf("type = %v, want %v", c.GetType(), tt.typ)
			}
			if got := c.GetCircuitBreakers().GetThresholds()[0].GetMaxRequests().GetValue(); got != maxStreams {
				t.Errorf("max_requests = %d", got)
			}
			opts := unpack(t, c.GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey], &httpv3.HttpProtocolOptions{})
			if got := opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() != nil; got != tt.http2 {
				t.Errorf("http2 = %v", got)
			}
			ep := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint()
			if ep.GetHostname() != tt.hostname {
				t.Errorf("endpoint hostname = %q, want %q", ep.GetHostname(), tt.hostname)
			}
			if tt.sni == "-" {
				if c.GetTransportSocket() != nil {
					t.Errorf("unexpected TLS")
				}
				return
			}
			tc := unpack(t, c.GetTransportSocket().GetTypedConfig(), &tlsv3.UpstreamTlsContext{})
			if tc.GetSni() != tt.sni {
				t.Errorf("sni = %q, want %q", tc.GetSni(), tt.sni)
			}
			vc := tc.GetCommonTlsContext().GetValidationContext()
			if vc.GetTrustedCa().GetFilename() != DefaultCAFile {
				t.Errorf("trusted_ca = %v", vc.GetTrustedCa())
			}
			if sans := vc.GetMatchTypedSubjectAltNames(); len(sans) != 1 || sans[0].GetMatcher().GetExact() != tt.san {
				t.Errorf("SAN matchers = %v, want %q", sans, tt.san)
			}
		})
	}
}

func TestHostHeader(t *testing.T) {
	tests := map[string]string{
		"https://example.com/mcp":       "example.com",
		"https://example.com:443/mcp":   "example.com",
		"https://example.com:8443/mcp":  "example.com:8443",
		"http://example.com/mcp":        "example.com",
		"http://example.com:443/mcp":    "example.com:443",
		"http://127.0.0.1:8931/mcp":     "127.0.0.1:8931",
		"https://[2001:db8::1]/mcp":     "[2001:db8::1]",
		"https://[2001:db8::1]:444/mcp": "[2001:db8::1]:444",
	}
	for raw, want := range tests {
		u := upstream(t, "x", raw)
		host, port, err := u.HostPort()
		if err != nil {
			t.Fatal(err)
		}
		if got := hostHeader(u, host, port); got != want {
			t.Errorf("%s: Host %q, want %q", raw, got, want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// With an XDSAddress the upstream clusters and the route table come from
// the ADS server (delta xDS); the listener and the gateway's own clusters
// stay static, and Envoy's initialization waits for both however long.
func TestXDSBootstrap(t *testing.T) {
	p := baseParams(t)
	p.XDSAddress = "127.0.0.1:9004"
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	ads := b.GetDynamicResources().GetAdsConfig()
	if ads.GetApiType() != corev3.ApiConfigSource_DELTA_GRPC || ads.GetTransportApiVersion() != corev3.ApiVersion_V3 ||
		ads.GetGrpcServices()[0].GetEnvoyGrpc().GetClusterName() != wellknown.XDSCluster {
		t.Errorf("ads_config %v", ads)
	}
	for what, cs := range map[string]*corev3.ConfigSource{
		"cds_config": b.GetDynamicResources().GetCdsConfig(),
		"rds":        hcmOf(t, b).GetRds().GetConfigSource(),
	} {
		if cs.GetAds() == nil || cs.GetResourceApiVersion() != corev3.ApiVersion_V3 ||
			cs.GetInitialFetchTimeout() == nil || cs.GetInitialFetchTimeout().AsDuration() != 0 {
			t.Errorf("%s %v", what, cs)
		}
	}
	if got := hcmOf(t, b).GetRds().GetRouteConfigName(); got != RouteConfigName {
		t.Errorf("rds route_config_name %q", got)
	}
	if hcmOf(t, b).GetRouteConfig() != nil {
		t.Error("static route table beside rds")
	}
	clusters := clustersByName(b)
	if len(clusters) != 3 || clusters[wellknown.ExtProcCluster] == nil || clusters[wellknown.SidecarCluster] == nil {
		t.Fatalf("static clusters %v", clusters)
	}
	opts := unpack(t, clusters[wellknown.XDSCluster].GetTypedExtensionProtocolOptions()[httpProtocolOptionsKey], &httpv3.HttpProtocolOptions{})
	if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		t.Errorf("xds cluster is not HTTP/2: %v", opts)
	}

	// What the bootstrap leaves out, UpstreamClusters and RouteConfig
	// build: the same protos the static bootstrap has.
	p.XDSAddress = ""
	static, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := UpstreamClusters(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 2 {
		t.Fatalf("%d upstream clusters", len(ups))
	}
	for _, c := range ups {
		if !proto.Equal(c, clustersByName(static)[c.GetName()]) {
			t.Errorf("cluster %s differs from the static bootstrap's", c.GetName())
		}
	}
	rc, err := RouteConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(rc, hcmOf(t, static).GetRouteConfig()) {
		t.Error("RouteConfig differs from the static bootstrap's")
	}
}

// The admin API's paths go to its cluster ahead of every other route,
// exactly (no prefix beyond the ones with an id), with ext_proc off.
func TestAdminAPIRoutes(t *testing.T) {
	p := Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003",
		Upstreams: []*upstreams.Upstream{upstream(t, "key", "http://10.0.0.5/mcp")}}
	rc, err := RouteConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rc.VirtualHosts[0].Routes {
		if r.GetRoute().GetCluster() == wellknown.AdminAPICluster {
			t.Fatalf("admin API route %q without an AdminAPIAddress", r.Name)
		}
	}
	p.AdminAPIAddress = "127.0.0.1:9005"
	rc, err = RouteConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	routes := rc.VirtualHosts[0].Routes[1:] // after the ready path's
	n := len(wellknown.AdminAPIPaths) + len(wellknown.AdminAPIPrefixes) + len(wellknown.UIPaths)
	for i, r := range routes {
		admin := r.GetRoute().GetCluster() == wellknown.AdminAPICluster
		if admin != (i < n) {
			t.Fatalf("route %d %q: admin API routes must come first, and only %d of them", i, r.Name, n)
		}
		if !admin {
			continue
		}
		if path := r.Match.GetPath(); path != "" && !slices.Contains(wellknown.AdminAPIPaths, path) && !slices.Contains(wellknown.UIPaths, path) || r.Match.GetPrefix() != "" && !slices.Contains(wellknown.AdminAPIPrefixes, r.Match.GetPrefix()) {
			t.Errorf("route %q matches %v", r.Name, r.Match)
		}
		if strings.HasPrefix(r.Match.GetPath(), "/mcp") || strings.HasSuffix(r.Match.GetPath(), "/mcp") || r.Match.GetPrefix() == "/" {
			t.Errorf("route %q would take MCP traffic past ext_proc", r.Name)
		}
		// The UI's and the admin API's routes tell them the client's TCP
		// peer (they limit failed authentications by it), whatever the
		// client sent in that header.
		if add := r.RequestHeadersToAdd; len(add) != 1 || add[0].Header.Key != wellknown.ClientAddressHeader ||
			add[0].Header.Value != "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%" || add[0].AppendAction != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("route %q adds %v", r.Name, add)
		}
		var per extprocv3.ExtProcPerRoute
		if err := r.TypedPerFilterConfig[wellknown.ExtProcFilterName].UnmarshalTo(&per); err != nil || !per.GetDisabled() {
			t.Errorf("route %q: ext_proc not disabled (%v)", r.Name, err)
		}
	}
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range b.StaticResources.Clusters {
		found = found || c.Name == wellknown.AdminAPICluster
	}
	if !found {
		t.Error("no admin API cluster in the bootstrap")
	}
}

// With the fast path, a second access logger sends the calls Envoy
// decided, and only those, to the ext_proc cluster's access log service;
// without it there is only the file log.
func TestFastPathAccessLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		fast *FastPath
		logs int
	}{
		{"fast path off", nil, 1},
		{"fast path on", &FastPath{KeyHeader: "x-litellm-api-key", Separator: "-"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := baseParams(t)
			p.FastPath = tc.fast
			b, err := Bootstrap(p)
			if err != nil {
				t.Fatal(err)
			}
			logs := hcmOf(t, b).GetAccessLog()
			if len(logs) != tc.logs || logs[0].GetName() != fileLoggerName {
				t.Fatalf("access logs = %v", logs)
			}
			if tc.logs == 1 {
				return
			}
			al := logs[1]
			if al.GetName() != grpcLoggerName {
				t.Errorf("logger %q", al.GetName())
			}
			cfg := unpack(t, al.GetTypedConfig(), &grpcalsv3.HttpGrpcAccessLogConfig{}).GetCommonConfig()
			if cfg.GetLogName() != wellknown.FastPathLogName || cfg.GetGrpcService().GetEnvoyGrpc().GetClusterName() != wellknown.ExtProcCluster ||
				cfg.GetTransportApiVersion() != corev3.ApiVersion_V3 {
				t.Errorf("common config = %v", cfg)
			}
			// Envoy's defaults: buffered, sent in batches.
			if cfg.GetBufferFlushInterval() != nil || cfg.GetBufferSizeBytes() != nil {
				t.Errorf("buffering = %v, %v", cfg.GetBufferFlushInterval(), cfg.GetBufferSizeBytes())
			}
			mf := al.GetFilter().GetMetadataFilter()
			m := mf.GetMatcher()
			if m.GetFilter() != wellknown.MetadataNamespace || len(m.GetPath()) != 1 || m.GetPath()[0].GetKey() != "decided_by" ||
				m.GetValue().GetStringMatch().GetExact() != wellknown.FastPathDecidedBy || mf.GetMatchIfKeyNotFound().GetValue() {
				t.Errorf("filter = %v", al.GetFilter())
			}
		})
	}
}
