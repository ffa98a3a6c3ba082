package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/credentials"
	"github.com/mcpgw/mcpgw/upstreams"
)

// sseBackend bridges a legacy HTTP+SSE server (2024-11-05: GET for the
// event stream, POST to the endpoint it announces). It reuses the
// upstreams discovery machinery for one long-lived go-sdk SSE client
// session: reconnects with backoff, keepalive pings, tools/list_changed,
// and one retry of a call the server refused for an unknown session.
type sseBackend struct {
	alias string
	disc  *upstreams.Discovery
}

func newSSEBackend(alias string, a *upstreams.Adapter, o *Options, log *slog.Logger, changed func()) (*sseBackend, error) {
	u, err := url.Parse(a.Source)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("sse server %s: url is not a valid URL", alias)
	}
	up := &upstreams.Upstream{
		Alias:       alias,
		Transport:   upstreams.TransportSSE,
		URL:         u,
		Credentials: credentials.Server{Static: a.Headers},
	}
	disc, err := upstreams.NewDiscovery([]*upstreams.Upstream{up}, upstreams.DiscoveryOptions{
		Timeout:        o.SSETimeout,
		RetryMin:       o.RetryMin,
		RetryMax:       o.RetryMax,
		OnChange:       func(string, []*mcp.Tool) { changed() },
		Logger:         log,
		Implementation: o.Implementation,
	})
	if err != nil {
		return nil, err
	}
	return &sseBackend{alias: alias, disc: disc}, nil
}

func (b *sseBackend) start(ctx context.Context) error { return b.disc.Start(ctx) }

// errSSEDown is returned while the legacy server is unreachable.
var errSSEDown = errors.New("unreachable (reconnecting)")

func (b *sseBackend) list(context.Context) (listing, error) {
	tools, ok := b.disc.Tools()[b.alias]
	if !ok {
		return listing{}, fmt.Errorf("sse server %s: %w", b.alias, errSSEDown)
	}
	return listing{tools: tools}, nil
}

func (b *sseBackend) call(ctx context.Context, _, name string, args json.RawMessage, _ mcp.Meta) (*mcp.CallToolResult, error) {
	res, err := b.disc.CallTool(ctx, b.alias, name, rawArgs(args))
	if errors.Is(err, upstreams.ErrUpstreamUnavailable) {
		return nil, fmt.Errorf("sse server %s: %w", b.alias, errSSEDown)
	}
	return res, err
}

func (b *sseBackend) endSession(string) {}

func (b *sseBackend) close() error { return b.disc.Close() }
