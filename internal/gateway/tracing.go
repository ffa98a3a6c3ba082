package gateway

import (
	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/internal/telemetry"
)

// EnvoyTracing is what Envoy is told of c: where to send its spans, so
// they join the ext_proc service's traces; nil when tracing is off.
func EnvoyTracing(c telemetry.Config) *envoy.Tracing {
	if !c.Enabled {
		return nil
	}
	hp, err := c.EnvoyHostPort()
	if err != nil {
		return nil // ConfigFromEnv checked the URL
	}
	return &envoy.Tracing{
		Protocol:        c.Protocol,
		Endpoint:        c.Endpoint,
		HostPort:        hp,
		ServiceName:     c.ServiceName + "-envoy",
		SamplingPercent: c.EnvoySamplingPercent(),
	}
}

// ExtProcTracing is the ext_proc option for t: spans per MCP request when
// tracing is on, nothing at all when off.
func ExtProcTracing(t *telemetry.Tracing) []extproc.Option {
	if !t.Enabled() {
		return nil
	}
	return []extproc.Option{extproc.WithTracing(t.Provider, t.Propagator)}
}
