package aggregate

import (
	"bytes"
	"encoding/json"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
	"log/slog"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
)

// listCache serves the upstreams' prompts, resources and resource
// templates from what discovery last listed: a list request never waits
// on an upstream. Each item is kept in both forms it is served in: the
// upstream's own (a single server's endpoint) and prefixed (names with
// the alias prefix, URIs and URI templates encoded, see
// namespace.EncodeURI).
type listCache struct {
	names func() *namespace.Registry // the current one (Server.Update replaces it)
	log   *slog.Logger
	// changed, if set, is told of each list change (a notification method).
	changed func(method string)

	mu      sync.Mutex
	byAlias map[string]*servedLists
	// caps are the capabilities each upstream last advertised; they are
	// kept while it is down, so initialize does not flap with it.
	caps map[string]*mcp.ServerCapabilities
}

// servedLists is one upstream's lists.
type servedLists struct {
	prompts   []served[*mcp.Prompt]
	resources []served[*mcp.Resource]
	templates []served[*mcp.ResourceTemplate]
	// Upstream JSON of each list, to notify clients of real changes only.
	promptsJSON, resourcesJSON []byte
}

// served is one item in its two forms. An item whose prefixed name would
// not be a valid MCP name is only served on its server's endpoint
// (ownOnly): it is reported, not mangled.
type served[T any] struct {
	own, prefixed T
	ownOnly       bool
}

func newListCache(names func() *namespace.Registry, log *slog.Logger) *listCache {
	return &listCache{names: names, log: log, byAlias: map[string]*servedLists{}, caps: map[string]*mcp.ServerCapabilities{}}
}

// update replaces alias's lists with ls (nil: the upstream is gone). It
// is discovery's OnListing.
func (c *listCache) update(alias string, ls *discovery.Listing) {
	next := c.build(alias, ls)
	c.mu.Lock()
	old := c.byAlias[alias]
	if next == nil {
		delete(c.byAlias, alias)
	} else {
		c.byAlias[alias] = next
		c.caps[alias] = ls.Capabilities
	}
	c.mu.Unlock()
	if c.changed == nil {
		return
	}
	if !bytes.Equal(old.json(true), next.json(true)) {
		c.changed("notifications/prompts/list_changed")
	}
	if !bytes.Equal(old.json(false), next.json(false)) {
		c.changed("notifications/resources/list_changed")
	}
}

// json returns the upstream JSON of the prompts (or resources and
// templates); nil for no lists.
func (s *servedLists) json(prompts bool) []byte {
	switch {
	case s == nil:
		return nil
	case prompts:
		return s.promptsJSON
	default:
		return s.resourcesJSON
	}
}

func (c *listCache) build(alias string, ls *discovery.Listing) *servedLists {
	if ls == nil {
		return nil
	}
	names := c.names()
	out := &servedLists{}
	out.promptsJSON, _ = json.Marshal(ls.Prompts)
	out.resourcesJSON, _ = json.Marshal([]any{ls.Resources, ls.ResourceTemplates})
	seen := map[string]bool{}
	for _, p := range ls.Prompts {
		if p == nil || p.Name == "" || seen[p.Name] {
			c.log.Warn("upstream prompt skipped", "upstream", alias, "prompt", nameOf(p), "error", "no name or listed twice")
			continue
		}
		seen[p.Name] = true
		cp := *p
		name, ok := c.prefixedName(alias, p.Name)
		cp.Name = name
		if !ok {
			c.log.Warn("upstream prompt served only on its server's endpoint", "upstream", alias, "prompt", p.Name,
				"error", "prefixed name is not a valid MCP name")
		}
		out.prompts = append(out.prompts, served[*mcp.Prompt]{own: p, prefixed: &cp, ownOnly: !ok})
	}
	clear(seen)
	for _, r := range ls.Resources {
		if r == nil || r.URI == "" || seen[r.URI] {
			c.log.Warn("upstream resource skipped", "upstream", alias, "error", "no uri or listed twice")
			continue
		}
		seen[r.URI] = true
		cp := *r
		cp.URI = names.EncodeURI(alias, r.URI)
		cp.Name = names.Prefix(alias, r.Name)
		out.resources = append(out.resources, served[*mcp.Resource]{own: r, prefixed: &cp})
	}
	clear(seen)
	for _, t := range ls.ResourceTemplates {
		if t == nil || t.URITemplate == "" || seen[t.URITemplate] {
			c.log.Warn("upstream resource template skipped", "upstream", alias, "error", "no uri template or listed twice")
			continue
		}
		seen[t.URITemplate] = true
		cp := *t
		cp.URITemplate = names.EncodeURI(alias, t.URITemplate)
		cp.Name = names.Prefix(alias, t.Name)
		out.templates = append(out.templates, served[*mcp.ResourceTemplate]{own: t, prefixed: &cp})
	}
	return out
}

// prefixedName is name's prefixed form, if that is a valid MCP name that
// resolves back to (alias, name).
func (c *listCache) prefixedName(alias, name string) (string, bool) {
	names := c.names()
	p := names.Prefix(alias, name)
	a, n, ok := names.Split(p)
	return p, namespace.ValidName(p) && ok && a == alias && n == name
}

func nameOf(p *mcp.Prompt) string {
	if p == nil {
		return ""
	}
	return p.Name
}

// pick returns the items visible in scope, in the scope's server order
// and the upstream's order within a server.
func pick[T any](c *listCache, sc namespace.Scope, items func(*servedLists) []served[T]) []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []T
	for _, alias := range sc.Servers {
		sl := c.byAlias[alias]
		if sl == nil {
			continue
		}
		for _, it := range items(sl) {
			switch {
			case sc.Single != "":
				out = append(out, it.own)
			case !it.ownOnly:
				out = append(out, it.prefixed)
			}
		}
	}
	return out
}

func (c *listCache) prompts(sc namespace.Scope) []*mcp.Prompt {
	return pick(c, sc, func(s *servedLists) []served[*mcp.Prompt] { return s.prompts })
}

func (c *listCache) resources(sc namespace.Scope) []*mcp.Resource {
	return pick(c, sc, func(s *servedLists) []served[*mcp.Resource] { return s.resources })
}

func (c *listCache) templates(sc namespace.Scope) []*mcp.ResourceTemplate {
	return pick(c, sc, func(s *servedLists) []served[*mcp.ResourceTemplate] { return s.templates })
}
