package aggregate

import (
	"context"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// listsMiddleware answers prompts/list, resources/list and
// resources/templates/list for the request's scope from the list cache,
// with the gateway's own cursor, exactly as tools/list is answered;
// serves prompts/get and resources/read that reach the sidecar (see
// fallback.go); and merges the upstreams' capabilities into initialize.
func (s *Server) listsMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize", "server/discover":
			return s.mergeCapabilities(ctx, method, req, next)
		case "prompts/list":
			return s.listPrompts(req)
		case "resources/list":
			return s.listResources(req)
		case "resources/templates/list":
			return s.listTemplates(req)
		case "prompts/get":
			return s.getPrompt(ctx, req)
		case "resources/read":
			return s.readResource(ctx, req)
		}
		return next(ctx, method, req)
	}
}

func (s *Server) listPrompts(req mcp.Request) (mcp.Result, error) {
	sc, err := s.scope(req)
	if err != nil {
		return nil, err
	}
	var cursor string
	if p, ok := req.GetParams().(*mcp.ListPromptsParams); ok && p != nil {
		cursor = p.Cursor
	}
	items, next, err := page(s.lists.prompts(sc), cursor, s.pageSize)
	if err != nil {
		return nil, err
	}
	return &mcp.ListPromptsResult{Prompts: items, NextCursor: next, Cacheable: listCacheable}, nil
}

func (s *Server) listResources(req mcp.Request) (mcp.Result, error) {
	sc, err := s.scope(req)
	if err != nil {
		return nil, err
	}
	var cursor string
	if p, ok := req.GetParams().(*mcp.ListResourcesParams); ok && p != nil {
		cursor = p.Cursor
	}
	items, next, err := page(s.lists.resources(sc), cursor, s.pageSize)
	if err != nil {
		return nil, err
	}
	return &mcp.ListResourcesResult{Resources: items, NextCursor: next, Cacheable: listCacheable}, nil
}

func (s *Server) listTemplates(req mcp.Request) (mcp.Result, error) {
	sc, err := s.scope(req)
	if err != nil {
		return nil, err
	}
	var cursor string
	if p, ok := req.GetParams().(*mcp.ListResourceTemplatesParams); ok && p != nil {
		cursor = p.Cursor
	}
	items, next, err := page(s.lists.templates(sc), cursor, s.pageSize)
	if err != nil {
		return nil, err
	}
	return &mcp.ListResourceTemplatesResult{ResourceTemplates: items, NextCursor: next, Cacheable: listCacheable}, nil
}

// page cuts one page out of a merged list at cursor (the gateway's own,
// see encodeCursor) and returns the cursor of the next page ("" at the
// end). A page is never nil, so it encodes as [].
func page[T any](items []T, cursor string, size int) ([]T, string, error) {
	start, err := decodeCursor(cursor, len(items))
	if err != nil {
		return nil, "", err
	}
	end := min(start+size, len(items))
	out := items[start:end:end]
	if out == nil {
		out = []T{}
	}
	next := ""
	if end < len(items) {
		next = encodeCursor(end)
	}
	return out, next, nil
}
