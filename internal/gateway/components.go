package gateway

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/envoy/xds"
	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
	"github.com/mcpgw/mcpgw/upstreams/aggregate"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

// SessionOpenTimeout bounds opening the upstream session a routed call
// needs. That, after waiting up to extproc.TokenWait for the upstream's
// OAuth2 token, happens while Envoy waits for one ext_proc message
// (envoy.DefaultMessageTimeout): the gateway must give up first, so the
// client gets its 502 naming the server rather than Envoy's bare 504.
const SessionOpenTimeout = 5 * time.Second

// NewExtProc builds the ext_proc service and the upstream session pool it
// uses. The caller runs the pool (Run, to close idle sessions) and closes
// it.
func NewExtProc(rt *Runtime, log *slog.Logger, opts ...extproc.Option) (*extproc.Server, *sessions.Pool) {
	pool := sessions.NewPool(sessions.Options{
		HTTPClient:     upstreams.HTTPClient,
		ConnectTimeout: SessionOpenTimeout,
		Logger:         log.With("component", "sessions"),
		IdleTimeout:    rt.Config.Gateway.UpstreamSessionIdle,
	})
	svc := extproc.New(rt.Router, pool, log.With("component", "extproc"),
		append([]extproc.Option{extproc.WithReplayer(&extproc.Replayer{HTTPClient: upstreams.HTTPClient})}, opts...)...)
	return svc, pool
}

// NewSidecar builds the adapter sidecar, serving adapters (from
// NewAdapters; nil for none) beside the aggregated endpoint. The caller
// starts and closes it; it closes the adapters.
func NewSidecar(rt *Runtime, log *slog.Logger, adapters *adapter.Set) (*aggregate.Server, error) {
	return newSidecar(rt, log, adapters, nil, "")
}

// newSidecar is NewSidecar that decides the requests Envoy sends it with
// token (direct lists) with direct, its replica's ext_proc service.
func newSidecar(rt *Runtime, log *slog.Logger, adapters *adapter.Set, direct aggregate.DirectDecider, token string) (*aggregate.Server, error) {
	return aggregate.New(aggregate.Options{
		Direct:      direct,
		DirectToken: token,
		Adapters:    adapters,
		Upstreams:   rt.Upstreams,
		Registry:    rt.Names,
		Sessions:    rt.Sessions,
		// Legacy HTTP+SSE clients are bridged onto the gateway's own
		// Streamable HTTP endpoint.
		GatewayURL: rt.GatewayURL,
		ListTTL:    rt.Config.Gateway.DiscoveryTTL,
		// The same engine the router asks: visible is callable.
		Authorizer: rt.Access,
		Logger:     log.With("component", "sidecar"),
	})
}

// ServeXDS serves Envoy the upstream clusters and the route table of rt
// over ADS (delta xDS) on lis until ctx ends: the xDS server of a gateway
// whose components run as separate processes (`mcpgw extproc
// -xds-listen`), for an Envoy bootstrap rendered with `mcpgw envoy-config
// -xds`.
func ServeXDS(ctx context.Context, lis net.Listener, rt *Runtime, log *slog.Logger) error {
	srv := xds.New(log.With("component", "xds"))
	if _, err := srv.Update(ctx, routingParams(rt, rt.Upstreams)); err != nil {
		lis.Close()
		return err
	}
	context.AfterFunc(ctx, srv.Stop)
	log.Info("serving xDS", "addr", lis.Addr().String())
	return srv.Serve(lis)
}

// routingParams is what the xDS server builds Envoy's upstream clusters
// and routes from: ups and the gateway settings the routes carry.
func routingParams(rt *Runtime, ups []*upstreams.Upstream) envoy.Params {
	return envoy.Params{Upstreams: ups, MaxRequestBodyBytes: rt.Config.Gateway.MaxRequestBodyBytes}
}
