package gateway

import (
	"fmt"
	"net"
	"strconv"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/upstreams"
)

// Runtime is everything built from one config: immutable, rebuilt on reload.
type Runtime struct {
	Config    *config.Config
	Upstreams []*upstreams.Upstream
	Names     *namespace.Registry
	Router    *router.Router
	// Sessions seals and checks client session ids; the sidecar issues
	// them and the router checks them on routed calls.
	Sessions *clientsession.Sealer
	// Access authenticates gateway keys and decides what each may see and
	// call; the router and the sidecar ask it (see WatchAccess).
	Access *policy.Engine
	// GatewayURL is the gateway's own listener as the sidecar reaches it
	// (legacy HTTP+SSE clients are bridged onto it). Build sets it from
	// gateway.bind_address (loopback when that is a wildcard) and
	// gateway.port; Start sets the port it really uses.
	GatewayURL string
}

// Build turns a validated config into runtime values.
func Build(cfg *config.Config, opts ...BuildOption) (*Runtime, error) {
	var bo buildOptions
	for _, o := range opts {
		o(&bo)
	}
	ups, err := bo.bindAdapters(cfg.Upstreams())
	if err != nil {
		return nil, err
	}
	aliases := make([]string, len(ups))
	groups := map[string][]string{}
	for i, u := range ups {
		aliases[i] = u.Alias
		for _, g := range u.AccessGroups {
			groups[g] = append(groups[g], u.Alias)
		}
	}
	names, err := namespace.NewRegistry(aliases, cfg.General.MCPToolPrefixSeparator, namespace.WithAccessGroups(groups))
	if err != nil {
		return nil, fmt.Errorf("build name registry: %w", err)
	}
	sealer, err := clientsession.NewSealer(cfg.Gateway.SessionSecrets, cfg.Gateway.SessionTTL)
	if err != nil {
		return nil, fmt.Errorf("build session sealer: %w", err)
	}
	creds, err := buildCredentials(cfg, ups, aliases)
	if err != nil {
		return nil, err
	}
	access, err := buildAccess(cfg)
	if err != nil {
		return nil, err
	}
	r, err := router.New(names, ups, cfg.Gateway.MaxRequestBodyBytes, router.WithSessionCheck(func(id, owner string) (uint8, error) {
		caps, err := sealer.Open(id, owner)
		return uint8(caps), err
	}), router.WithRelayKeys(sealer.RelayKeys()), router.WithCredentials(creds),
		router.WithMaxResponseBody(cfg.Gateway.MaxResponseBodyBytes),
		router.WithAuthorizer(access), router.WithOrigins(router.OriginPolicy{Allowed: cfg.Gateway.AllowedOrigins}))
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	bind := cfg.Gateway.BindAddress
	if bind == "" {
		bind = envoy.DefaultListenAddress
	}
	return &Runtime{Config: cfg, Upstreams: ups, Names: names, Router: r, Sessions: sealer, Access: access,
		GatewayURL: "http://" + net.JoinHostPort(localHost(bind), strconv.Itoa(cfg.Gateway.Port))}, nil
}
