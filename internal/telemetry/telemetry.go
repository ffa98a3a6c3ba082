// Package telemetry sets up the gateway's OpenTelemetry traces from the
// standard OTEL_* environment variables (docs/operations.md, "Traces").
//
// Tracing is off unless asked for: with no OTLP endpoint and no
// OTEL_TRACES_EXPORTER=otlp there is no exporter, and the tracer provider
// is a no-op one. Nothing here is global: the provider and the propagator
// are handed to the components that make spans (extproc.WithTracing), and
// Envoy is told where to send its own spans (Config.Envoy*).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Protocols of the OTLP exporter (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// DefaultServiceName is service.name when OTEL_SERVICE_NAME is not set.
const DefaultServiceName = "mcpgw"

// Config is what the OTEL_* variables ask for, as plain data.
type Config struct {
	// Enabled is set when traces are exported.
	Enabled bool
	// Protocol is ProtocolGRPC or ProtocolHTTP.
	Protocol string
	// Endpoint is the URL spans are sent to: scheme, host and port for
	// gRPC; the whole URL, path included (/v1/traces), for HTTP.
	Endpoint string
	// ServiceName is the gateway's service.name; Envoy's spans are
	// ServiceName + "-envoy".
	ServiceName string
	// Sampler is an OTEL_TRACES_SAMPLER value; Ratio its argument for the
	// ratio samplers (1 otherwise).
	Sampler string
	Ratio   float64
}

// ConfigFromEnv reads the OTEL_* variables through getenv (os.Getenv).
// Errors name the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{ServiceName: DefaultServiceName, Sampler: "parentbased_always_on", Ratio: 1}
	if v := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); v != "" {
		c.ServiceName = v
	}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return c, nil
	}
	tracesEndpoint := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	endpoint := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return c, nil
	case "otlp":
		c.Enabled = true
	case "":
		// Off by default (the SDKs' default is otlp): an endpoint is the
		// ask.
		c.Enabled = tracesEndpoint != "" || endpoint != ""
	default:
		return c, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not supported (want otlp or none)", exp)
	}
	if !c.Enabled {
		return c, nil
	}
	c.Protocol = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	protoVar := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	if c.Protocol == "" {
		c.Protocol, protoVar = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_PROTOCOL")), "OTEL_EXPORTER_OTLP_PROTOCOL"
	}
	switch c.Protocol {
	case "":
		c.Protocol = ProtocolHTTP // the specification's default
	case ProtocolGRPC, ProtocolHTTP:
	default:
		return c, fmt.Errorf("%s: %q is not supported (want grpc or http/protobuf)", protoVar, c.Protocol)
	}
	var err error
	switch {
	case tracesEndpoint != "":
		// Used as is, for HTTP too (the specification).
		c.Endpoint, err = checkEndpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracesEndpoint)
	case endpoint != "":
		c.Endpoint, err = checkEndpoint("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
		if err == nil && c.Protocol == ProtocolHTTP {
			c.Endpoint = strings.TrimSuffix(c.Endpoint, "/") + "/v1/traces"
		}
	case c.Protocol == ProtocolGRPC:
		c.Endpoint = "http://localhost:4317"
	default:
		c.Endpoint = "http://localhost:4318/v1/traces"
	}
	if err != nil {
		return c, err
	}
	if c.Sampler, c.Ratio, err = sampler(getenv("OTEL_TRACES_SAMPLER"), getenv("OTEL_TRACES_SAMPLER_ARG")); err != nil {
		return c, err
	}
	return c, nil
}

// checkEndpoint accepts an http or https URL with a host.
func checkEndpoint(name, v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: %q is not an http or https URL", name, v)
	}
	if u.User != nil {
		return "", fmt.Errorf("%s: credentials in the URL are not supported (use OTEL_EXPORTER_OTLP_HEADERS)", name)
	}
	return v, nil
}

// sampler checks OTEL_TRACES_SAMPLER and its argument.
func sampler(name, arg string) (string, float64, error) {
	name = strings.TrimSpace(name)
	switch name {
	case "":
		return "parentbased_always_on", 1, nil
	case "always_on", "always_off", "parentbased_always_on", "parentbased_always_off":
		return name, 1, nil
	case "traceidratio", "parentbased_traceidratio":
		ratio := 1.0
		if arg = strings.TrimSpace(arg); arg != "" {
			r, err := strconv.ParseFloat(arg, 64)
			if err != nil || r < 0 || r > 1 {
				return "", 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: %q is not a ratio between 0 and 1", arg)
			}
			ratio = r
		}
		return name, ratio, nil
	}
	return "", 0, fmt.Errorf("OTEL_TRACES_SAMPLER: %q is not supported (want always_on, always_off, traceidratio or their parentbased_ forms)", name)
}

// sdkSampler is c's sampler for the SDK.
func (c Config) sdkSampler() sdktrace.Sampler {
	var root sdktrace.Sampler
	switch strings.TrimPrefix(c.Sampler, "parentbased_") {
	case "always_off":
		root = sdktrace.NeverSample()
	case "traceidratio":
		root = sdktrace.TraceIDRatioBased(c.Ratio)
	default:
		root = sdktrace.AlwaysSample()
	}
	if strings.HasPrefix(c.Sampler, "parentbased_") {
		return sdktrace.ParentBased(root)
	}
	return root
}

// EnvoySamplingPercent is Envoy's random_sampling for c's sampler: Envoy
// samples new traces at this rate and follows a caller's sampled flag.
func (c Config) EnvoySamplingPercent() float64 {
	switch strings.TrimPrefix(c.Sampler, "parentbased_") {
	case "always_off":
		return 0
	case "traceidratio":
		return c.Ratio * 100
	}
	return 100
}

// EnvoyHostPort is the host and port of c's endpoint, for Envoy's
// cluster (the scheme's default port when the URL names none: 4317 for
// gRPC, 4318 for HTTP, as the OTLP exporters assume).
func (c Config) EnvoyHostPort() (string, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return "", err
	}
	port := u.Port()
	if port == "" {
		port = "4318"
		if c.Protocol == ProtocolGRPC {
			port = "4317"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// Tracing is the gateway's tracer provider and propagator.
type Tracing struct {
	Config Config
	// Provider makes the spans; a no-op one when tracing is off.
	Provider trace.TracerProvider
	// Propagator reads and writes W3C traceparent, tracestate and baggage.
	Propagator propagation.TextMapPropagator
	sdk        *sdktrace.TracerProvider // nil when off
}

// Off is tracing turned off: a no-op provider, nothing exported.
func Off() *Tracing {
	return &Tracing{Provider: noop.NewTracerProvider(), Propagator: propagator()}
}

func propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Start sets up what c asks for: an OTLP exporter with a batching span
// processor, or Off. The exporters also read the OTEL_EXPORTER_OTLP_*
// variables c does not carry (headers, timeout, compression,
// certificates).
func Start(ctx context.Context, c Config) (*Tracing, error) {
	if !c.Enabled {
		t := Off()
		t.Config = c
		return t, nil
	}
	var exp sdktrace.SpanExporter
	var err error
	switch c.Protocol {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(c.Endpoint))
	case ProtocolHTTP:
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(c.Endpoint))
	default:
		err = fmt.Errorf("protocol %q", c.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	// The environment's resource attributes (OTEL_RESOURCE_ATTRIBUTES),
	// then the service's name.
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", c.ServiceName)))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithSampler(c.sdkSampler()))
	return &Tracing{Config: c, Provider: sdk, Propagator: propagator(), sdk: sdk}, nil
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// ForceFlush exports the spans ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.ForceFlush(ctx)
}

// Shutdown exports what is left and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.Shutdown(ctx)
}
