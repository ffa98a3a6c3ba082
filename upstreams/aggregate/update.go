package aggregate

import (
	"context"
	"fmt"
	"slices"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/upstreams"
)

// servers is the set of upstreams the sidecar serves, with the registry
// that names them: read by every request, replaced whole by Update.
type servers struct {
	names        *namespace.Registry
	ups          map[string]*upstreams.Upstream
	list         []*upstreams.Upstream
	instructions string
}

func newServers(names *namespace.Registry, ups []*upstreams.Upstream) *servers {
	s := &servers{names: names, ups: make(map[string]*upstreams.Upstream, len(ups)), list: ups,
		instructions: instructions(names, ups)}
	for _, u := range ups {
		s.ups[u.Alias] = u
	}
	return s
}

// reg is the registry requests resolve names with now.
func (s *Server) reg() *namespace.Registry { return s.set.Load().names }

// Update makes ups, named by names, the upstreams the sidecar serves,
// while it serves (the gateway's servers changed). Discovery links of
// upstreams whose connection is unchanged (upstreams.SameConnection) are
// kept with their sessions; new upstreams get links, removed ones lose
// theirs and their tools, prompts and resources leave the lists; changed
// ones get a new link. Clients with an open GET stream are told:
// notifications/tools/list_changed (and prompts/resources when those
// lists changed). It returns once new upstreams have been listed or the
// discovery timeout passed. An error (an upstream the registry does not
// name, one discovery cannot reach) changes nothing. Adapters are not
// the sidecar's to update: the caller updates the adapter.Set it was
// given before (new servers) and after (removed ones).
func (s *Server) Update(ctx context.Context, names *namespace.Registry, ups []*upstreams.Upstream) error {
	s.update.Lock()
	defer s.update.Unlock()
	if names == nil {
		return fmt.Errorf("sidecar: no name registry")
	}
	for _, up := range ups {
		if up == nil {
			return fmt.Errorf("sidecar: nil upstream")
		}
		if !names.Has(up.Alias) {
			return fmt.Errorf("sidecar: upstream %q is not in the name registry", up.Alias)
		}
	}
	old := s.set.Load()
	next := newServers(names, ups)
	// The new names first: the tools new links report are prefixed and
	// checked with them, and a removed server leaves every scope at once
	// (its tools, still in the catalog until its link stops, are then in
	// none).
	s.set.Store(next)
	stopped, started, err := s.disc.Update(ctx, ups)
	if err != nil {
		s.set.Store(old)
		return fmt.Errorf("sidecar: %w", err)
	}
	var gone []string
	for alias := range old.ups {
		if next.ups[alias] == nil {
			gone = append(gone, alias)
		}
	}
	s.lists.forget(gone)
	// A server whose tool filters or access groups changed shows clients
	// other tools though no link changed.
	if len(stopped)+len(started) == 0 && !sameServed(old, next) {
		s.notify.publish("notifications/tools/list_changed")
	}
	s.log.Info("sidecar servers updated", "upstreams", len(ups), "links_stopped", stopped, "links_started", started)
	return nil
}

// sameServed reports whether a and b serve the same servers with the
// same tool filters and groups, so that every client sees the same tools.
func sameServed(a, b *servers) bool {
	if len(a.ups) != len(b.ups) || !slices.Equal(a.names.Aliases(), b.names.Aliases()) {
		return false
	}
	for alias, u := range a.ups {
		v := b.ups[alias]
		if v == nil || !slices.Equal(u.AllowedTools, v.AllowedTools) || !slices.Equal(u.DisallowedTools, v.DisallowedTools) ||
			!slices.Equal(u.AccessGroups, v.AccessGroups) {
			return false
		}
	}
	return true
}

// forget drops what the cache keeps of removed upstreams beyond their
// lists (their last capabilities).
func (c *listCache) forget(aliases []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range aliases {
		delete(c.caps, a)
	}
}

// instructionsFor sets the current instructions on an initialize result:
// the servers' descriptions change with the servers.
func (s *Server) instructionsFor(res *mcp.InitializeResult) {
	res.Instructions = s.set.Load().instructions
}
