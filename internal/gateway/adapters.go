package gateway

import (
	"log/slog"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
)

// BuildOption adjusts Build.
type BuildOption func(*buildOptions)

type buildOptions struct {
	adapterHost string // sidecar host:port serving the adapter endpoints
}

// WithAdapterEndpoints gives the servers the sidecar adapts (stdio,
// legacy SSE, OpenAPI) their endpoints on the sidecar at host:port, so
// the router, Envoy's clusters, discovery and the session pool reach them
// there like any Streamable HTTP server. Without it their calls are
// served by the sidecar's fallback and they get no Envoy cluster.
func WithAdapterEndpoints(sidecarAddr string) BuildOption {
	return func(o *buildOptions) { o.adapterHost = sidecarAddr }
}

// bindAdapters applies WithAdapterEndpoints to ups.
func (o *buildOptions) bindAdapters(ups []*upstreams.Upstream) ([]*upstreams.Upstream, error) {
	if o.adapterHost == "" {
		return ups, nil
	}
	return upstreams.BindAdapters(ups, o.adapterHost)
}

// HasAdapters reports whether any configured server is adapted by the
// sidecar.
func (rt *Runtime) HasAdapters() bool {
	for _, u := range rt.Upstreams {
		if u.Adapter != nil {
			return true
		}
	}
	return false
}

// NewAdapters builds the adapter endpoints of rt's adapted servers, for
// the one sidecar that serves them (nil when there are none). The sidecar
// that gets them starts and closes them.
func NewAdapters(rt *Runtime, log *slog.Logger) (*adapter.Set, error) {
	if !rt.HasAdapters() {
		return nil, nil
	}
	return newAdapterSet(rt, log)
}

// newAdapterSet builds the adapter endpoints of rt's adapted servers,
// none or more.
func newAdapterSet(rt *Runtime, log *slog.Logger) (*adapter.Set, error) {
	return adapter.New(adapter.Options{
		Upstreams: rt.Upstreams,
		Logger:    log.With("component", "adapters"),
	})
}
