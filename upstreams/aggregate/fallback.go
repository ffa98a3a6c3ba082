package aggregate

import (
	"context"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams/discovery"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/policy"
)

// Envoy normally carries prompts/get and resources/read straight to the
// upstream (the router decides, like tools/call). The ones that reach the
// sidecar (an upstream Envoy cannot reach itself, a legacy SSE client)
// are served here through discovery's session to that upstream, under
// the same names and the same policy question the router asks. The
// upstream's result and JSON-RPC errors come back unchanged.

func (s *Server) getPrompt(ctx context.Context, req mcp.Request) (mcp.Result, error) {
	p, ok := req.GetParams().(*mcp.GetPromptParams)
	if !ok || p == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: `invalid params: prompts/get needs a string "name"`}
	}
	sc, err := s.scope(req)
	if err != nil {
		return nil, err
	}
	alias, name, ok := s.reg().ResolveName(sc, p.Name)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown prompt: " + p.Name}
	}
	if err := s.authorizeNamed(req, sc, "prompts/get", policy.KindPrompt, alias, name, p.Name, nil); err != nil {
		return nil, err
	}
	res, err := s.disc.GetPrompt(ctx, alias, &mcp.GetPromptParams{Meta: p.Meta, Name: name, Arguments: p.Arguments})
	if err != nil {
		return nil, s.upstreamError(err, alias, "prompts/get")
	}
	return res, nil
}

func (s *Server) readResource(ctx context.Context, req mcp.Request) (mcp.Result, error) {
	p, ok := req.GetParams().(*mcp.ReadResourceParams)
	if !ok || p == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: `invalid params: resources/read needs a string "uri"`}
	}
	sc, err := s.scope(req)
	if err != nil {
		return nil, err
	}
	alias, uri, ok := s.reg().ResolveURI(sc, p.URI)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown resource: " + p.URI}
	}
	if err := s.authorizeNamed(req, sc, "resources/read", policy.KindResource, alias, uri, p.URI, nil); err != nil {
		return nil, err
	}
	res, err := s.disc.ReadResource(ctx, alias, &mcp.ReadResourceParams{Meta: p.Meta, URI: uri})
	if err != nil {
		return nil, s.upstreamError(err, alias, "resources/read")
	}
	if sc.Prefixed {
		// The contents name the URIs the client knows, as on the routed
		// path (relay.Stream). A copy: the result may be shared.
		out := *res
		out.Contents = make([]*mcp.ResourceContents, len(res.Contents))
		for i, c := range res.Contents {
			if c != nil && c.URI != "" {
				cc := *c
				cc.URI = s.reg().EncodeURI(alias, c.URI)
				c = &cc
			}
			out.Contents[i] = c
		}
		return &out, nil
	}
	return res, nil
}

// upstreamError passes JSON-RPC errors of the upstream through and turns
// anything else into an internal error that names the upstream only.
func (s *Server) upstreamError(err error, alias, method string) error {
	var werr *jsonrpc.Error
	if errors.As(err, &werr) {
		return werr
	}
	s.log.Warn("fallback request failed", "upstream", alias, "method", method, "error", err)
	msg := fmt.Sprintf("upstream %s: %s failed", alias, method)
	if errors.Is(err, discovery.ErrUpstreamUnavailable) || errors.Is(err, discovery.ErrUnknownUpstream) {
		msg = fmt.Sprintf("upstream %s is unavailable", alias)
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
}
