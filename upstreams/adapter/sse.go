package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
	"log/slog"
	"net/url"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// sseBackend bridges a legacy HTTP+SSE server (2024-11-05: GET for the
// event stream, POST to the endpoint it announces): tools, prompts and
// resources. It reuses the upstreams discovery machinery for one
// long-lived go-sdk SSE client session: reconnects with backoff,
// keepalive pings, list_changed, and one retry of a request the server
// refused for an unknown session.
type sseBackend struct {
	alias string
	disc  *discovery.Discovery
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
	if a.Token != nil {
		// An OAuth2 client-credentials token on every request.
		up.Credentials.Scheme = credentials.SchemeOAuth2
		up.Credentials.Token = a.Token
		up.Credentials.AuthHeader = a.TokenHeader
	}
	disc, err := discovery.New([]*upstreams.Upstream{up}, discovery.Options{
		Timeout:        o.SSETimeout,
		RetryMin:       o.RetryMin,
		RetryMax:       o.RetryMax,
		OnListing:      func(string, *discovery.Listing) { changed() },
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
	l, ok := b.disc.Listings()[b.alias]
	if !ok {
		return listing{}, fmt.Errorf("sse server %s: %w", b.alias, errSSEDown)
	}
	return listing{tools: l.Tools, prompts: l.Prompts, resources: l.Resources, templates: l.ResourceTemplates,
		completions: l.Capabilities != nil && l.Capabilities.Completions != nil}, nil
}

func (b *sseBackend) complete(ctx context.Context, _ string, params *mcp.CompleteParams) (*mcp.CompleteResult, error) {
	res, err := b.disc.Complete(ctx, b.alias, params)
	return res, b.unavailable(err)
}

func (b *sseBackend) getPrompt(ctx context.Context, _ string, params *mcp.GetPromptParams) (*mcp.GetPromptResult, error) {
	res, err := b.disc.GetPrompt(ctx, b.alias, params)
	return res, b.unavailable(err)
}

func (b *sseBackend) readResource(ctx context.Context, _ string, params *mcp.ReadResourceParams) (*mcp.ReadResourceResult, error) {
	res, err := b.disc.ReadResource(ctx, b.alias, params)
	return res, b.unavailable(err)
}

// unavailable says, for a request that found the server unreachable, that
// it is reconnecting.
func (b *sseBackend) unavailable(err error) error {
	if errors.Is(err, discovery.ErrUpstreamUnavailable) {
		return fmt.Errorf("sse server %s: %w", b.alias, errSSEDown)
	}
	return err
}

func (b *sseBackend) call(ctx context.Context, _, name string, args json.RawMessage, _ mcp.Meta) (*mcp.CallToolResult, error) {
	res, err := b.disc.CallTool(ctx, b.alias, name, rawArgs(args))
	return res, b.unavailable(err)
}

func (b *sseBackend) endSession(string) {}

func (b *sseBackend) close() error { return b.disc.Close() }
