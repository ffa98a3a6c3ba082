package configfile

import (
	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// parseMCPInfo reads mcp_info. Its known keys follow LiteLLM's MCPInfo
// (litellm/types/mcp_server/mcp_server_manager.py); LiteLLM keeps other
// keys for display, so they are accepted and listed as ignored.
func parseMCPInfo(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	pairs, ok := p.mapping(n, path)
	if !ok || len(pairs) == 0 {
		return false
	}
	info := &s.MCPInfo
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "server_name":
			info.ServerName, _ = p.str(f.v, fp)
		case "description":
			info.Description, _ = p.str(f.v, fp)
		case "protocol_version":
			// LiteLLM's fallback for the server's protocol_version.
			info.ProtocolVersion, _ = p.enum(f.v, fp, protocolVersions)
		case "logo_url":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				info.LogoURL = v
				p.notSupported(f.k, fp, "")
			}
		case "mcp_server_cost_info":
			if c := p.costInfo(f.v, fp); c != nil {
				info.Cost = c
				p.notSupported(f.k, fp, "")
			}
		default:
			p.ignore(f.k, fp, "custom mcp_info field (LiteLLM shows it in its UI)")
		}
	}
	return true
}

// costInfo reads mcp_server_cost_info (LiteLLM's MCPServerCostInfo).
func (p *parser) costInfo(n *yaml.Node, path string) *config.CostInfo {
	pairs, ok := p.mapping(n, path)
	if !ok || len(pairs) == 0 {
		return nil
	}
	c := &config.CostInfo{}
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "default_cost_per_query":
			if v, ok := p.number(f.v, fp); ok {
				if v < 0 {
					p.errorf(f.v, fp, "must not be negative")
				}
				c.DefaultCostPerQuery = v
			}
		case "tool_name_to_cost_per_query":
			tools, _ := p.mapping(f.v, fp)
			c.ToolNameToCostPerQuery = make(map[string]float64, len(tools))
			for _, t := range tools {
				tp := join(fp, t.key)
				if v, ok := p.number(t.v, tp); ok {
					if v < 0 {
						p.errorf(t.v, tp, "must not be negative")
					}
					c.ToolNameToCostPerQuery[t.key] = v
				}
			}
		default:
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, costInfoKeys))
		}
	}
	return c
}

var costInfoKeys = []string{"default_cost_per_query", "tool_name_to_cost_per_query"}

// envVarKeys are the keys of an env_vars item (LiteLLM's MCPEnvVar).
var envVarKeys = []string{"description", "name", "scope", "value"}

// parseEnvVars reads env_vars: a list of {name, value, scope,
// description}, scope being global (the default) or user.
func parseEnvVars(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	d := deref(n)
	if isNull(d) {
		return false
	}
	if d.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list of {name, value} mappings, got %s", kindName(d))
		return false
	}
	for i, item := range d.Content {
		ip := index(path, i)
		pairs, ok := p.mapping(item, ip)
		if !ok {
			continue
		}
		ev := config.EnvVar{Scope: "global"}
		for _, f := range pairs {
			fp := join(ip, f.key)
			switch f.key {
			case "name":
				ev.Name, _ = p.str(f.v, fp)
			case "value":
				ev.Value, _ = p.str(f.v, fp)
			case "description":
				ev.Description, _ = p.str(f.v, fp)
			case "scope":
				if v, ok := p.enum(f.v, fp, []string{"global", "user"}); ok {
					ev.Scope = v
				}
			default:
				p.errorf(f.k, fp, "unknown key%s", suggest(f.key, envVarKeys))
			}
		}
		if ev.Name == "" {
			p.errorf(item, ip, "name is required")
		}
		s.EnvVars = append(s.EnvVars, ev)
	}
	return len(s.EnvVars) > 0
}
