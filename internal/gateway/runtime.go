package gateway

import (
	"context"
	"errors"
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
	"github.com/mcpgw/mcpgw/upstreams/discovery"
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

	// pending is the access policy a runtime built for Instance.Apply
	// brings, swapped into Access when it is applied.
	pending *policy.Prepared
	// store is set by Open when the config keeps objects in a database.
	store *storeState
}

// Build turns a validated config into runtime values.
func Build(cfg *config.Config, opts ...BuildOption) (*Runtime, error) {
	var bo buildOptions
	for _, o := range opts {
		o(&bo)
	}
	return build(cfg, nil, &bo)
}

// build builds the runtime of cfg. With prev (a running replica's
// runtime, see Instance.Apply) it keeps what outlives a change of
// servers: the session sealer (client sessions stay valid), the access
// engine (cfg's policy is prepared into rt.pending, for Apply to swap in)
// and the OAuth2 token sources of servers whose OAuth2 settings are the
// same (their cached tokens, and so their discovery links and upstream
// sessions, stay).
func build(cfg *config.Config, prev *Runtime, bo *buildOptions) (*Runtime, error) {
	ups, err := bo.bindAdapters(Upstreams(cfg))
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
	creds, err := buildCredentials(cfg, ups, aliases, prev)
	if err != nil {
		return nil, err
	}
	var (
		sealer  *clientsession.Sealer
		access  *policy.Engine
		pending *policy.Prepared
	)
	if prev == nil {
		if sealer, err = clientsession.NewSealer(cfg.Gateway.SessionSecrets, cfg.Gateway.SessionTTL); err != nil {
			return nil, fmt.Errorf("build session sealer: %w", err)
		}
		if access, err = buildAccess(cfg); err != nil {
			return nil, err
		}
	} else {
		if err := checkReachable(ups); err != nil {
			return nil, err
		}
		sealer, access = prev.Sessions, prev.Access
		if pending, err = policy.Prepare(context.Background(), cfg); err != nil {
			return nil, fmt.Errorf("build access policy: %w", err)
		}
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
	gatewayURL := "http://" + net.JoinHostPort(localHost(bind), strconv.Itoa(cfg.Gateway.Port))
	if prev != nil {
		gatewayURL = prev.GatewayURL
	}
	return &Runtime{Config: cfg, Upstreams: ups, Names: names, Router: r, Sessions: sealer, Access: access,
		GatewayURL: gatewayURL, pending: pending}, nil
}

// checkReachable refuses servers the sidecar's discovery could not reach
// (a server without a URL), before anything running changes.
func checkReachable(ups []*upstreams.Upstream) error {
	for _, u := range ups {
		if _, err := discovery.NewTransport(u, nil); err != nil && !errors.Is(err, discovery.ErrUnsupportedTransport) {
			return err
		}
	}
	return nil
}
