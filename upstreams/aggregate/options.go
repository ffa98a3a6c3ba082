package aggregate

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
)

// Name is the server name the sidecar reports in serverInfo.
const Name = "mcpgw"

// Options configure a Server.
type Options struct {
	// Upstreams are the MCP servers whose tools the sidecar lists.
	Upstreams []*upstreams.Upstream
	// Registry names tools; every upstream's alias must be in it. Required.
	Registry *namespace.Registry
	// Logger receives structured logs, as they are (the caller tags the
	// component); nil discards them.
	Logger *slog.Logger
	// DiscoveryTimeout bounds connecting to one upstream and listing its
	// tools. Start waits at most this long. Zero means 5s.
	DiscoveryTimeout time.Duration
	// KeepAlive is the interval of the pings that notice a dead upstream.
	// Zero means 15s; negative disables pings.
	KeepAlive time.Duration
	// ListTTL is how often each upstream's tools, prompts and resources
	// are listed again without a list_changed from it. Zero means 1m;
	// negative disables it.
	ListTTL time.Duration
	// Version is the version reported in serverInfo. Empty means "dev".
	Version string
	// PageSize is the most tools one tools/list page holds. Zero means 500.
	PageSize int
	// GatewayURL is the gateway's own listener (Envoy), e.g.
	// http://127.0.0.1:4000, or "unix:<path>" for Envoy's internal socket
	// (a TLS listener; envoy.Params.InternalSocket). Legacy HTTP+SSE
	// clients are bridged onto its Streamable HTTP endpoint and the REST
	// facade's calls go through it; "" turns both off.
	GatewayURL string
	// Sessions issues and checks client session ids. Nil means a random
	// key per process (sessions end when the process does) and a 24h TTL.
	Sessions *clientsession.Sealer
	// Authorizer decides what each caller sees and may call (see
	// access.go); the router asks the same one. Nil means everyone sees
	// everything but what the servers' allowed_tools/disallowed_tools hide.
	Authorizer Authorizer
	// Adapters, if set, are served at /adapters/<alias>/mcp beside the
	// aggregated endpoint (see package adapter). The sidecar starts them
	// before discovery, which reaches them at their bound URLs, and closes
	// them after it.
	Adapters *adapter.Set
	// Direct decides the requests Envoy sends straight to the sidecar,
	// those carrying DirectToken in wellknown.DirectListHeader (direct
	// lists). Nil or an empty token: every request has been decided by
	// the ext_proc service.
	Direct      DirectDecider
	DirectToken string
}

func (o *Options) applyDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.DiscoveryTimeout <= 0 {
		o.DiscoveryTimeout = 5 * time.Second
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.PageSize <= 0 {
		o.PageSize = 500
	}
	if o.Sessions == nil {
		o.Sessions, _ = clientsession.NewSealer(nil, 24*time.Hour)
	}
}

func (o *Options) validate() error {
	if o.Registry == nil {
		return fmt.Errorf("sidecar: no name registry")
	}
	for _, up := range o.Upstreams {
		if up == nil {
			return fmt.Errorf("sidecar: nil upstream")
		}
		if !o.Registry.Has(up.Alias) {
			return fmt.Errorf("sidecar: upstream %q is not in the name registry", up.Alias)
		}
	}
	return nil
}
