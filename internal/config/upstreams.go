package config

import (
	"net/url"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// Upstreams builds the runtime view of the configured servers, in file
// order. Servers the sidecar adapts (stdio, legacy SSE, spec_path
// OpenAPI) get an Adapter and no URL until upstreams.BindAdapters gives
// them the sidecar's endpoint; their auth headers go to the real server
// through the adapter, not on the Envoy hop, so their Credentials are
// empty. Credentials embedded in a URL are dropped (see
// Config.Unsupported). Each call returns new values.
func (c *Config) Upstreams() []*upstreams.Upstream {
	out := make([]*upstreams.Upstream, 0, len(c.Servers))
	for i := range c.Servers {
		s := &c.Servers[i]
		u := &upstreams.Upstream{
			Alias:       s.Alias,
			Transport:   s.Transport,
			Cluster:     upstreams.ClusterName(s.Alias),
			Credentials: s.Credentials(),
			Description: s.Description,

			AllowedTools:    s.AllowedTools,
			DisallowedTools: s.DisallowedTools,
			AccessGroups:    s.AccessGroups,
			Timeout:         s.Timeout,
		}
		if u.Description == "" {
			u.Description = s.MCPInfo.Description
		}
		if u.Adapter = s.adapter(); u.Adapter != nil {
			u.Credentials = credentials.Server{}
		} else if s.URL != "" {
			if parsed, err := url.Parse(s.URL); err == nil {
				parsed.User = nil
				u.URL = parsed
			}
		}
		out = append(out, u)
	}
	return out
}
