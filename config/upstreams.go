package config

import (
	"net/url"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Upstreams builds the runtime view of the configured servers, in file
// order. Servers with spec_path (OpenAPI, not supported yet) are left
// out: their url is a REST base URL, not an MCP endpoint. stdio servers
// have no URL. Credentials embedded in a URL are dropped (see
// Config.Unsupported). Each call returns new values.
func (c *Config) Upstreams() []*upstreams.Upstream {
	out := make([]*upstreams.Upstream, 0, len(c.Servers))
	for i := range c.Servers {
		s := &c.Servers[i]
		if s.SpecPath != "" {
			continue
		}
		u := &upstreams.Upstream{
			Alias:       s.Alias,
			Transport:   s.Transport,
			Cluster:     upstreams.ClusterName(s.Alias),
			Headers:     s.AuthHeaders(),
			Description: s.Description,

			AllowedTools:    s.AllowedTools,
			DisallowedTools: s.DisallowedTools,
			AccessGroups:    s.AccessGroups,
		}
		if u.Description == "" {
			u.Description = s.MCPInfo.Description
		}
		if s.Transport != TransportStdio && s.URL != "" {
			if parsed, err := url.Parse(s.URL); err == nil {
				parsed.User = nil
				u.URL = parsed
			}
		}
		out = append(out, u)
	}
	return out
}
