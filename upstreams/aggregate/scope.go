package aggregate

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
)

// pathHeader carries the request path from the sidecar's HTTP handler to
// its MCP method handlers (go-sdk hands them the headers, not the URL).
// The sidecar sets it itself on every request, so a client cannot.
const pathHeader = "X-Mcpgw-Sidecar-Path"

// withPath records the request path for scope resolution.
func withPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As sent (EscapedPath), not decoded: Resolve decodes the server
		// list once, as the router does on the same path; decoding twice
		// would read /mcp/a,b%252Cc as three servers here and one there.
		r.Header.Set(pathHeader, r.URL.EscapedPath())
		next.ServeHTTP(w, r)
	})
}

// scope resolves the request's scope with the same function the router
// uses, so what a client can list is what it can call.
func (s *Server) scope(req mcp.Request) (namespace.Scope, error) {
	extra := req.GetExtra()
	if extra == nil || extra.Header == nil {
		// Not over HTTP (in-process tests): the whole aggregate.
		return s.reg().Resolve(namespace.Endpoint, nil)
	}
	h := extra.Header
	sc, err := s.reg().Resolve(h.Get(pathHeader), lookup(h))
	if err != nil {
		return sc, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
	}
	// Only the servers the caller may use (access.go).
	return s.narrow(req, sc)
}

// lookup reads request headers for scope resolution as the router does
// (extproc: repeated headers joined with ", "), telling a header sent
// empty from one not sent.
func lookup(h http.Header) namespace.HeaderLookup {
	return func(name string) (string, bool) {
		vs := h.Values(name)
		if len(vs) == 0 {
			return "", false
		}
		return strings.Join(vs, ", "), true
	}
}

// scopeMiddleware answers tools/list from the catalog for the request's
// scope, with the gateway's own cursor, and maps a single server's
// unprefixed names on tools/call to the prefixed tools the go-sdk server
// holds.
func (s *Server) scopeMiddleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			sc, err := s.scope(req)
			if err != nil {
				return nil, err
			}
			var cursor string
			if p, ok := req.GetParams().(*mcp.ListToolsParams); ok && p != nil {
				cursor = p.Cursor
			}
			tools, err := s.visibleTools(req, sc)
			if err != nil {
				return nil, err
			}
			start, err := decodeCursor(cursor, len(tools))
			if err != nil {
				return nil, err
			}
			end := min(start+s.pageSize, len(tools))
			res := &mcp.ListToolsResult{Tools: tools[start:end], Cacheable: listCacheable}
			if res.Tools == nil {
				res.Tools = []*mcp.Tool{}
			}
			if end < len(tools) {
				res.NextCursor = encodeCursor(end)
			}
			return res, nil
		case "tools/call":
			sc, err := s.scope(req)
			if err != nil {
				return nil, err
			}
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && p != nil {
				name, ok := s.servedName(sc, p.Name)
				if !ok {
					return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Unknown tool: " + p.Name}
				}
				if err := s.authorizeCall(req, sc, name, p.Arguments); err != nil {
					return nil, err
				}
				p.Name = name
			}
		}
		return next(ctx, method, req)
	}
}

// servedName maps a tool name a client sent in scope to the prefixed name
// the go-sdk server serves it under, by the router's rules
// (namespace.Registry.ResolveName).
func (s *Server) servedName(sc namespace.Scope, name string) (string, bool) {
	alias, upstreamName, ok := s.reg().ResolveName(sc, name)
	if !ok {
		return "", false
	}
	return s.reg().Prefix(alias, upstreamName), true
}

// listCacheable is the 2026-07-28 cache hint on every list the sidecar
// answers: private, because what a caller sees depends on who it is, and
// stale at once, because upstream changes reach clients only as
// list_changed on the GET stream of older versions.
var listCacheable = mcp.Cacheable{TTLMs: 0, CacheScope: "private"}

// Cursors are opaque to clients; they encode an offset into the merged,
// ordered list of the request's scope.
func encodeCursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("mcpgw:" + strconv.Itoa(offset)))
}

func decodeCursor(cursor string, n int) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	bad := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid cursor"}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, bad
	}
	off, err := strconv.Atoi(strings.TrimPrefix(string(raw), "mcpgw:"))
	if err != nil || !strings.HasPrefix(string(raw), "mcpgw:") || off < 0 {
		return 0, bad
	}
	// A list that shrank since the cursor was issued ends early rather
	// than failing.
	return min(off, n), nil
}
