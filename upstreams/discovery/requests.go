package discovery

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// request sends one request (do) on the link's current session. If the
// upstream has lost the session, it waits for a new one and tries once
// more; a request whose connection broke mid-flight is not repeated, since
// the upstream may have acted on it. what names the request in errors.
func request[T any](ctx context.Context, l *link, what string, do func(context.Context, *mcp.ClientSession) (T, error)) (T, error) {
	var zero T
	s, err := l.await(ctx, nil)
	if err != nil {
		return zero, err
	}
	probe := new(rejectProbe)
	res, err := do(withRejectProbe(ctx, probe), s.cs)
	refused := unknownSession(err) || (err != nil && probe.rejected())
	if err == nil || !(refused || sessionLost(err)) {
		return res, err
	}
	// Closing the session makes run open a new one.
	s.stop()
	if !refused {
		return zero, fmt.Errorf("%s on %s: %w", what, l.alias, err)
	}
	l.log.Info("upstream refused the session, sending again on a new one", "request", what, "error", err)
	s, err = l.await(ctx, s)
	if err != nil {
		return zero, err
	}
	return do(ctx, s.cs)
}

// GetPrompt gets a prompt (params.Name is the upstream's own name) from
// the upstream alias through the discovery session, with CallTool's rules.
func (d *Discovery) GetPrompt(ctx context.Context, alias string, params *mcp.GetPromptParams) (*mcp.GetPromptResult, error) {
	l := d.link(alias)
	if l == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUpstream, alias)
	}
	return request(ctx, l, "get prompt "+params.Name, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.GetPromptResult, error) {
		return cs.GetPrompt(ctx, params)
	})
}

// Complete asks the upstream alias for completions (params.Ref names its
// own prompt or URI template) through the discovery session, with
// CallTool's rules.
func (d *Discovery) Complete(ctx context.Context, alias string, params *mcp.CompleteParams) (*mcp.CompleteResult, error) {
	l := d.link(alias)
	if l == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUpstream, alias)
	}
	return request(ctx, l, "complete", func(ctx context.Context, cs *mcp.ClientSession) (*mcp.CompleteResult, error) {
		return cs.Complete(ctx, params)
	})
}

// ReadResource reads a resource (params.URI is the upstream's own URI)
// from the upstream alias through the discovery session, with CallTool's
// rules.
func (d *Discovery) ReadResource(ctx context.Context, alias string, params *mcp.ReadResourceParams) (*mcp.ReadResourceResult, error) {
	l := d.link(alias)
	if l == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUpstream, alias)
	}
	return request(ctx, l, "read "+params.URI, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.ReadResourceResult, error) {
		return cs.ReadResource(ctx, params)
	})
}
