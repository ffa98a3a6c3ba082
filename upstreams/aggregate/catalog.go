package aggregate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/mcptool"
)

// callFunc calls an upstream's tool by its own (unprefixed) name.
type callFunc func(ctx context.Context, alias, name string, args any) (*mcp.CallToolResult, error)

// catalog mirrors the upstreams' tools into the MCP server under prefixed
// names. go-sdk tells connected clients (tools/list_changed) whenever a
// tool is added or removed.
type catalog struct {
	srv   *mcp.Server
	names func() *namespace.Registry // the current one (Server.Update replaces it)
	log   *slog.Logger
	call  callFunc
	// changed, if set, is told of each list change (a notification method).
	changed func(method string)

	mu      sync.Mutex
	byAlias map[string]map[string][]byte // alias → prefixed name → tool JSON as served
	listed  map[string][]listedTool      // alias → tools as listed, sorted by name
	version uint64                       // counts updates: lists filtered before are stale
}

// listedTool is one served tool: its prefixed form and the upstream's name.
type listedTool struct {
	tool *mcp.Tool // prefixed
	name string    // the upstream's own name
}

func newCatalog(srv *mcp.Server, names func() *namespace.Registry, log *slog.Logger, call callFunc) *catalog {
	return &catalog{srv: srv, names: names, log: log, call: call,
		byAlias: map[string]map[string][]byte{}, listed: map[string][]listedTool{}}
}

// tools returns the tools visible in scope, in the scope's server order
// and by name within a server. On a single server's endpoint names are the
// upstream's own.
func (c *catalog) tools(scope namespace.Scope) []*mcp.Tool {
	tools, _ := c.toolsAt(scope)
	return tools
}

// toolsAt is tools, and the catalog version they are of.
func (c *catalog) toolsAt(scope namespace.Scope) ([]*mcp.Tool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*mcp.Tool
	for _, alias := range scope.Servers {
		for _, lt := range c.listed[alias] {
			if scope.Single == "" {
				out = append(out, lt.tool)
				continue
			}
			t := *lt.tool
			t.Name = lt.name
			out = append(out, &t)
		}
	}
	return out, c.version
}

// currentVersion is the catalog version toolsAt would return now.
func (c *catalog) currentVersion() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// update replaces alias's tools with tools (nil: the upstream is gone).
// Tools that cannot be served are skipped with a warning; unchanged tools
// are left alone, so clients hear of real changes only.
func (c *catalog) update(alias string, tools []*mcp.Tool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Every tool is served; what each caller sees and may call is the
	// policy's to say (access.go), at list time as at call time.
	own := make(map[string]string, len(tools)) // served (prefixed) name → the upstream's
	served := make([]*mcp.Tool, 0, len(tools))
	for _, t := range tools {
		pt, err := c.prefixed(alias, t)
		if err != nil {
			c.log.Warn("upstream tool skipped", "upstream", alias, "tool", t.Name, "error", err)
			continue
		}
		if _, dup := own[pt.Name]; !dup {
			own[pt.Name] = t.Name
		}
		served = append(served, pt)
	}
	next, added, removed := mcptool.Mirror[mcp.Tool]{
		Key:    func(t *mcp.Tool) string { return t.Name },
		Remove: c.srv.RemoveTools,
		Add:    func(t *mcp.Tool) error { return mcptool.Add(c.srv, t, c.handler(alias, own[t.Name])) },
		Skipped: func(name string, err error) {
			c.log.Warn("upstream tool skipped", "upstream", alias, "tool", cmp.Or(own[name], name), "error", err)
		},
	}.Update(c.byAlias[alias], served)
	// The first tool of each name is the one served (Mirror skips later ones).
	listed := make([]listedTool, 0, len(next))
	for _, pt := range served {
		name, first := own[pt.Name]
		if _, ok := next[pt.Name]; ok && first {
			listed = append(listed, listedTool{tool: pt, name: name})
			delete(own, pt.Name)
		}
	}
	slices.SortFunc(listed, func(a, b listedTool) int { return strings.Compare(a.tool.Name, b.tool.Name) })
	if len(next) == 0 {
		delete(c.byAlias, alias)
		delete(c.listed, alias)
	} else {
		c.byAlias[alias] = next
		c.listed[alias] = listed
	}
	c.version++
	if c.changed != nil && (added > 0 || removed > 0) {
		c.changed("notifications/tools/list_changed")
	}
	c.log.Debug("tools updated", "upstream", alias, "tools", len(next),
		"added_or_changed", added, "removed", removed)
}

// served returns the prefixed names currently served, sorted.
func (c *catalog) served() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var all []string
	for _, m := range c.byAlias {
		all = slices.AppendSeq(all, maps.Keys(m))
	}
	slices.Sort(all)
	return all
}

// prefixed returns a copy of t under its prefixed name, or why t cannot be
// served. Everything else (schemas, title, annotations, _meta, icons)
// passes through as the upstream sent it.
func (c *catalog) prefixed(alias string, t *mcp.Tool) (*mcp.Tool, error) {
	names := c.names()
	name := names.Prefix(alias, t.Name)
	if !namespace.ValidName(name) {
		return nil, fmt.Errorf("prefixed name %q is not a valid tool name (1-%d of A-Za-z0-9_-.)", name, namespace.MaxNameLength)
	}
	if a, n, ok := names.Split(name); !ok || a != alias || n != t.Name {
		return nil, fmt.Errorf("prefixed name %q would route to upstream %q", name, a)
	}
	err := mcptool.CheckInputSchema(t.InputSchema)
	if err != nil {
		return nil, err
	}
	pt := *t
	pt.Name = name
	// Schemas are served as the upstream sent them, encoded once here
	// rather than on every tools/list: encoding decoded schemas (maps) is
	// most of what serving a page costs.
	if pt.InputSchema, err = encoded(t.InputSchema); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	if t.OutputSchema != nil {
		if pt.OutputSchema, err = encoded(t.OutputSchema); err != nil {
			return nil, fmt.Errorf("output schema: %w", err)
		}
	}
	return &pt, nil
}

// encoded returns v as compact JSON, served as is.
func encoded(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(v)
}

// handler serves a tools/call that reached the sidecar (Envoy normally
// routes calls straight to the upstream) by calling the upstream through
// discovery's session. The upstream's result and JSON-RPC errors come back
// unchanged.
func (c *catalog) handler(alias, name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args any
		if len(req.Params.Arguments) > 0 {
			args = req.Params.Arguments
		}
		res, err := c.call(ctx, alias, name, args)
		if err == nil {
			return res, nil
		}
		var werr *jsonrpc.Error
		if errors.As(err, &werr) {
			return nil, werr
		}
		c.log.Warn("fallback tools/call failed", "upstream", alias, "tool", name, "error", err)
		msg := fmt.Sprintf("upstream %s: call failed", alias)
		if errors.Is(err, discovery.ErrUpstreamUnavailable) {
			msg = fmt.Sprintf("upstream %s is unavailable", alias)
		}
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
	}
}
