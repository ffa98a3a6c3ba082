package telemetry

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		percent float64
		hostp   string
		err     string
	}{
		{name: "nothing set: off", env: nil, want: Config{ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1}},
		{name: "endpoint: on, http by default", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
			want:    Config{Enabled: true, Protocol: ProtocolHTTP, Endpoint: "http://collector:4318/v1/traces", ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1},
			percent: 100, hostp: "collector:4318"},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://10.0.0.1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_SERVICE_NAME": "gw"},
			want:    Config{Enabled: true, Protocol: ProtocolGRPC, Endpoint: "http://10.0.0.1", ServiceName: "gw", Sampler: "parentbased_always_on", Ratio: 1},
			percent: 100, hostp: "10.0.0.1:4317"},
		{name: "traces endpoint as is, traces protocol first", env: map[string]string{
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/otlp/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://other:4318",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			want:    Config{Enabled: true, Protocol: ProtocolHTTP, Endpoint: "https://c.example/otlp/traces", ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1},
			percent: 100, hostp: "c.example:4318"},
		{name: "exporter otlp with no endpoint: the default one", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			want:    Config{Enabled: true, Protocol: ProtocolGRPC, Endpoint: "http://localhost:4317", ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1},
			percent: 100, hostp: "localhost:4317"},
		{name: "exporter none wins", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
			want: Config{ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1}},
		{name: "sdk disabled", env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
			want: Config{ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1}},
		{name: "ratio sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"},
			want:    Config{Enabled: true, Protocol: ProtocolHTTP, Endpoint: "http://c:4318/v1/traces", ServiceName: "mcpgw", Sampler: "parentbased_traceidratio", Ratio: 0.25},
			percent: 25, hostp: "c:4318"},
		{name: "always off", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "always_off"},
			want:    Config{Enabled: true, Protocol: ProtocolHTTP, Endpoint: "http://c:4318/v1/traces", ServiceName: "mcpgw", Sampler: "always_off", Ratio: 1},
			percent: 0, hostp: "c:4318"},
		{name: "bad exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "OTEL_TRACES_EXPORTER"},
		{name: "bad protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, err: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4317"}, err: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{name: "credentials in endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://u:secret@c:4318"}, err: "OTEL_EXPORTER_OTLP_ENDPOINT: credentials"},
		{name: "bad sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_SAMPLER": "jaeger_remote"}, err: "OTEL_TRACES_SAMPLER:"},
		{name: "bad ratio", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, err: "OTEL_TRACES_SAMPLER_ARG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one naming %s", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error repeats a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c != tt.want {
				t.Fatalf("got  %+v\nwant %+v", c, tt.want)
			}
			if !c.Enabled {
				return
			}
			if p := c.EnvoySamplingPercent(); p != tt.percent {
				t.Errorf("Envoy sampling %v%%, want %v", p, tt.percent)
			}
			if hp, err := c.EnvoyHostPort(); err != nil || hp != tt.hostp {
				t.Errorf("Envoy host:port %q (%v), want %q", hp, err, tt.hostp)
			}
		})
	}
}

func TestOffIsNoop(t *testing.T) {
	tr, err := Start(t.Context(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Fatal("enabled without an exporter")
	}
	_, span := tr.Provider.Tracer("x").Start(t.Context(), "s")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Fatal("off provider records spans")
	}
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPExport: OTLP over HTTP goes to the endpoint's /v1/traces (the
// generic endpoint's path appended), as protobuf, with the service name.
func TestHTTPExport(t *testing.T) {
	got := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + strconv.FormatBool(bytes.Contains(body, []byte("gw-test")))
	}))
	defer srv.Close()
	cfg, err := ConfigFromEnv(func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_SERVICE_NAME": "gw-test"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("t").Start(t.Context(), "s")
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		if req != "POST /v1/traces application/x-protobuf true" {
			t.Errorf("collector got %q", req)
		}
	default:
		t.Fatal("nothing exported")
	}
}
