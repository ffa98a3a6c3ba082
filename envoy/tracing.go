package envoy

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Tracing is where Envoy sends its OpenTelemetry spans: the gateway's own
// OTLP endpoint, so Envoy's spans and the ext_proc service's share their
// traces (package internal/telemetry reads it from the OTEL_* variables).
type Tracing struct {
	// Protocol is "grpc" or "http/protobuf".
	Protocol string
	// Endpoint is the collector's URL: scheme, host and port for gRPC;
	// the whole URL (path included) for HTTP. An https URL is verified
	// against Params.CAFile.
	Endpoint string
	// HostPort is the endpoint's host and port (its default port filled
	// in).
	HostPort string
	// ServiceName is Envoy's service.name.
	ServiceName string
	// SamplingPercent is how many new traces Envoy samples (0-100); a
	// caller's sampled flag is followed.
	SamplingPercent float64
}

const (
	openTelemetryTracerName = "envoy.tracers.opentelemetry"
	// otlpExportTimeout bounds one export of Envoy's spans.
	otlpExportTimeout = 5 * time.Second
)

// tracingCluster is the cluster of t's collector.
func tracingCluster(t *Tracing, caFile string) (*clusterv3.Cluster, error) {
	c, err := localCluster(wellknown.OTLPCluster, t.HostPort, t.Protocol == "grpc")
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(t.Endpoint); err == nil && u.Scheme == "https" {
		host, _, _ := net.SplitHostPort(t.HostPort)
		ts, err := tlsTransportSocket(host, caFile)
		if err != nil {
			return nil, fmt.Errorf("envoy: cluster %s: %w", wellknown.OTLPCluster, err)
		}
		c.TransportSocket = ts
	}
	return c, nil
}

// connectionTracing is the HTTP connection manager's tracing with t: a
// server span per request (joining the client's traceparent), a client
// span per upstream request, the ext_proc stream a child span carrying
// the trace to the ext_proc service.
func connectionTracing(t *Tracing) (*hcmv3.HttpConnectionManager_Tracing, error) {
	otel := &tracev3.OpenTelemetryConfig{ServiceName: t.ServiceName}
	if t.Protocol == "grpc" {
		otel.GrpcService = &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: wellknown.OTLPCluster}},
			Timeout:         durationpb.New(otlpExportTimeout),
		}
	} else {
		otel.HttpService = &corev3.HttpService{HttpUri: &corev3.HttpUri{
			Uri:              t.Endpoint,
			HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: wellknown.OTLPCluster},
			Timeout:          durationpb.New(otlpExportTimeout),
		}}
	}
	cfg, err := typed("opentelemetry tracer", otel)
	if err != nil {
		return nil, err
	}
	return &hcmv3.HttpConnectionManager_Tracing{
		RandomSampling:    &typev3.Percent{Value: t.SamplingPercent},
		SpawnUpstreamSpan: wrapperspb.Bool(true),
		Provider: &tracev3.Tracing_Http{
			Name:       openTelemetryTracerName,
			ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: cfg},
		},
	}, nil
}

// validateTracing checks t (nil: no tracing); errors name the field.
func validateTracing(t *Tracing) error {
	if t == nil {
		return nil
	}
	if t.Protocol != "grpc" && t.Protocol != "http/protobuf" {
		return fieldErr("Tracing.Protocol", fmt.Errorf("%q: want grpc or http/protobuf", t.Protocol))
	}
	if u, err := url.Parse(t.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldErr("Tracing.Endpoint", fmt.Errorf("not an http or https URL"))
	}
	host, port, err := net.SplitHostPort(t.HostPort)
	if err != nil || host == "" {
		return fieldErr("Tracing.HostPort", fmt.Errorf("%q: want host:port", t.HostPort))
	}
	if n, err := strconv.Atoi(port); err != nil || checkPort(n) != nil {
		return fieldErr("Tracing.HostPort", fmt.Errorf("%q: bad port", t.HostPort))
	}
	if t.SamplingPercent < 0 || t.SamplingPercent > 100 {
		return fieldErr("Tracing.SamplingPercent", fmt.Errorf("%v: want 0 to 100", t.SamplingPercent))
	}
	return nil
}
