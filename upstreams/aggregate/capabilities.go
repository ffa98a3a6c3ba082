package aggregate

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
)

//lint:file-ignore SA1019 logging: still in the protocol versions before 2026-07-28 we serve

// capabilities merges what the upstreams in scope offer into the server
// capabilities a client of that scope is told:
//
//   - tools, always, with listChanged: the gateway lists tools (possibly
//     none yet) and announces every change;
//   - prompts and resources, with listChanged, when an upstream in scope
//     advertised them (last known, so a restarting upstream does not make
//     them flap) or lists some;
//   - completions when an upstream in scope offers them: the router
//     routes completion/complete by the prompt or resource it names;
//   - on a single server's endpoint, that server's logging, which the
//     router passes through to it there.
//
// Nothing else is offered: resource subscriptions are passed through but
// their updates are not relayed, and on prefixed scopes logging would
// need the gateway to fan it out (see docs/conformance.md).
func (c *listCache) capabilities(sc namespace.Scope) *mcp.ServerCapabilities {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}}
	var prompts, resources, completions bool
	for _, alias := range sc.Servers {
		if caps := c.caps[alias]; caps != nil {
			prompts = prompts || caps.Prompts != nil
			resources = resources || caps.Resources != nil
			completions = completions || caps.Completions != nil
		}
		if sl := c.byAlias[alias]; sl != nil {
			prompts = prompts || len(sl.prompts) > 0
			resources = resources || len(sl.resources) > 0 || len(sl.templates) > 0
		}
	}
	if prompts {
		out.Prompts = &mcp.PromptCapabilities{ListChanged: true}
	}
	if resources {
		out.Resources = &mcp.ResourceCapabilities{ListChanged: true}
	}
	if completions {
		out.Completions = &mcp.CompletionCapabilities{}
	}
	if caps := c.caps[sc.Single]; sc.Single != "" && caps != nil && caps.Logging != nil {
		out.Logging = &mcp.LoggingCapabilities{}
	}
	return out
}

// mergeCapabilities sets the merged capabilities of the request's scope
// on the initialize (or 2026-07-28 server/discover) result go-sdk built.
func (s *Server) mergeCapabilities(ctx context.Context, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	res, err := next(ctx, method, req)
	if err != nil {
		return res, err
	}
	var caps **mcp.ServerCapabilities
	switch r := res.(type) {
	case *mcp.InitializeResult:
		caps = &r.Capabilities
		s.instructionsFor(r)
	case *mcp.DiscoverResult:
		caps = &r.Capabilities
	default:
		return res, nil
	}
	sc, err := s.scope(req)
	if err != nil {
		return nil, err
	}
	merged := &mcp.ServerCapabilities{}
	if *caps != nil {
		*merged = **caps // go-sdk builds a fresh value per call
	}
	m := s.lists.capabilities(sc)
	merged.Tools, merged.Prompts, merged.Resources = m.Tools, m.Prompts, m.Resources
	merged.Logging, merged.Completions = m.Logging, m.Completions
	*caps = merged
	return res, nil
}
