package envoy

import (
	"strings"
	"testing"
)

func TestTracingRendered(t *testing.T) {
	base := Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003"}
	grpc := &Tracing{Protocol: "grpc", Endpoint: "http://10.0.0.7:4317", HostPort: "10.0.0.7:4317", ServiceName: "gw-envoy", SamplingPercent: 25}
	httpTLS := &Tracing{Protocol: "http/protobuf", Endpoint: "https://c.example/v1/traces", HostPort: "c.example:443", ServiceName: "gw-envoy", SamplingPercent: 100}
	for _, tc := range []struct {
		name    string
		tracing *Tracing
		want    []string
		notWant []string
		err     string
	}{
		{"off", nil, nil, []string{"tracing:", "mcpgw_otlp"}, ""},
		{"grpc", grpc, []string{"name: envoy.tracers.opentelemetry", "cluster_name: mcpgw_otlp", "service_name: gw-envoy",
			"value: 25", "spawn_upstream_span: true", "name: mcpgw_otlp", "address: 10.0.0.7", "http2_protocol_options"}, []string{"http_service"}, ""},
		{"http over TLS", httpTLS, []string{"http_service", "uri: https://c.example/v1/traces", "cluster: mcpgw_otlp", "sni: c.example", "port_value: 443"}, []string{"grpc_service:\n            envoy_grpc:\n              cluster_name: mcpgw_otlp"}, ""},
		{"bad protocol", &Tracing{Protocol: "thrift", Endpoint: "http://c:1", HostPort: "c:1"}, nil, nil, "Tracing.Protocol"},
		{"bad endpoint", &Tracing{Protocol: "grpc", Endpoint: "c:4317", HostPort: "c:4317"}, nil, nil, "Tracing.Endpoint"},
		{"bad host port", &Tracing{Protocol: "grpc", Endpoint: "http://c", HostPort: "c"}, nil, nil, "Tracing.HostPort"},
		{"bad sampling", &Tracing{Protocol: "grpc", Endpoint: "http://c:1", HostPort: "c:1", SamplingPercent: 101}, nil, nil, "Tracing.SamplingPercent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			p.Tracing = tc.tracing
			out, err := Render(p)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("bootstrap lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(string(out), w) {
					t.Errorf("bootstrap has %q", w)
				}
			}
			if t.Failed() {
				t.Logf("%s", out)
			}
		})
	}
}
