package main

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/telemetry"
)

// otlpSink is an OTLP/gRPC trace collector in this process that counts
// the spans it is sent and keeps none: the export path is real (gRPC,
// protobuf, batching), its storage is not measured.
type otlpSink struct {
	collectortracepb.UnimplementedTraceServiceServer
	gateway, envoy atomic.Int64
	srv            *grpc.Server
	addr           string
}

func (s *otlpSink) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	for _, rs := range req.GetResourceSpans() {
		n := int64(0)
		for _, ss := range rs.GetScopeSpans() {
			n += int64(len(ss.GetSpans()))
		}
		counter := &s.gateway
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" && kv.GetValue().GetStringValue() == tracedServiceName+"-envoy" {
				counter = &s.envoy
			}
		}
		counter.Add(n)
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

func startSink() (*otlpSink, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &otlpSink{srv: grpc.NewServer(), addr: lis.Addr().String()}
	collectortracepb.RegisterTraceServiceServer(s.srv, s)
	go s.srv.Serve(lis)
	return s, nil
}

const tracedServiceName = "mcpgw-bench"

// startTracedGateway is (c) with tracing on: every request sampled, the
// gateway's spans and Envoy's exported over OTLP/gRPC to a sink in this
// process, as OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_EXPORTER_OTLP_PROTOCOL=grpc
// would set it up.
func startTracedGateway(ctx context.Context, bin gatewayBins, rt *gateway.Runtime, l *logs) (*target, error) {
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	tr, err := telemetry.Start(ctx, telemetry.Config{Enabled: true, Protocol: telemetry.ProtocolGRPC, Endpoint: "http://" + sink.addr,
		ServiceName: tracedServiceName, Sampler: "parentbased_always_on", Ratio: 1})
	if err != nil {
		sink.srv.Stop()
		return nil, err
	}
	tg, err := startGatewayWith(ctx, bin, rt, l, nil, tr)
	if err != nil {
		tr.Shutdown(context.WithoutCancel(ctx))
		sink.srv.Stop()
		return nil, err
	}
	closeGateway := tg.close
	tg.close = func() {
		closeGateway()
		tr.Shutdown(context.Background())
		sink.srv.Stop()
	}
	tg.spans = func() string {
		_ = tr.ForceFlush(ctx)
		return fmt.Sprintf("gateway %d, Envoy %d", sink.gateway.Load(), sink.envoy.Load())
	}
	return tg, nil
}
