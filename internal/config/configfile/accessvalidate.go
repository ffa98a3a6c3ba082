package configfile

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// validateAccess checks the access block against the servers, once the
// whole file is read, and resolves server names to aliases.
func (p *parser) validateAccess(cfg *config.Config, src *accessSource) {
	a := &cfg.Access
	if a.DecisionLog.Output == "" {
		a.DecisionLog.Output = config.DefaultDecisionLog
	}
	if src == nil {
		a.InputHeaders = []string{"user-agent", "mcp-protocol-version"}
		return
	}
	p.checkInputHeaders(cfg, src)
	p.checkKeyFromAuthorization(cfg, src)

	aliases := make(map[string]string) // server alias, name or server_id → alias
	for _, s := range cfg.Servers {
		if _, taken := aliases[s.Name]; !taken {
			aliases[s.Name] = s.Alias
		}
	}
	for _, s := range cfg.Servers {
		aliases[s.Alias] = s.Alias // an alias wins over another server's name
	}
	for _, s := range cfg.Servers {
		// LiteLLM's object_permission.mcp_servers holds server ids.
		if _, taken := aliases[s.ServerID]; s.ServerID != "" && !taken {
			aliases[s.ServerID] = s.Alias
		}
	}
	groups := make(map[string]bool)
	for _, s := range cfg.Servers {
		for _, g := range s.AccessGroups {
			groups[g] = true
		}
	}
	teams := make(map[string]bool)
	for i, t := range a.Teams {
		if t.ID != "" && teams[t.ID] {
			p.errorf(&yaml.Node{Line: t.Line}, join(index("access.teams", i), "team_id"), "%s is used by another team", quoteName(t.ID))
		}
		teams[t.ID] = true
	}
	orgs := make(map[string]bool)
	for i, o := range a.Organizations {
		if o.ID != "" && orgs[o.ID] {
			p.errorf(&yaml.Node{Line: o.Line}, join(index("access.organizations", i), "organization_id"), "%s is used by another organization", quoteName(o.ID))
		}
		orgs[o.ID] = true
	}
	for _, r := range src.refs {
		p.checkRef(r, aliases, groups, teams, orgs)
	}
	p.checkKeys(cfg)
	for i := range a.Keys {
		resolveServers(&a.Keys[i].Permission, aliases)
	}
	for i := range a.Teams {
		resolveServers(&a.Teams[i].Permission, aliases)
	}
	for i := range a.Organizations {
		resolveServers(&a.Organizations[i].Permission, aliases)
	}
}

// checkRef reports a reference to a server (by name, alias or server_id),
// access group, team or organization that does not exist.
func (p *parser) checkRef(r accessRef, aliases map[string]string, groups, teams, orgs map[string]bool) {
	switch {
	case r.kind == "server" && aliases[r.name] == "":
		p.errorf(r.n, r.path, "no mcp_servers entry is named %s", quoteName(r.name))
	case r.kind == "group" && !groups[r.name]:
		p.errorf(r.n, r.path, "no server has access group %s (access_groups)", quoteName(r.name))
	case r.kind == "team" && !teams[r.name]:
		p.errorf(r.n, r.path, "no access.teams entry has team_id %s", quoteName(r.name))
	case r.kind == "organization" && !orgs[r.name]:
		p.errorf(r.n, r.path, "no access.organizations entry has organization_id %s", quoteName(r.name))
	}
}

// checkKeyFromAuthorization checks access.key_from_authorization against
// the headers that would then mean two things, and says at start what it
// gives up.
func (p *parser) checkKeyFromAuthorization(cfg *config.Config, src *accessSource) {
	if !cfg.Access.KeyFromAuthorization {
		return
	}
	const path = "access.key_from_authorization"
	g := cfg.General
	switch {
	case g.KeyHeaderName == "authorization":
		p.ignore(src.keyAuth, path, "general_settings.litellm_key_header_name is already Authorization")
		return
	case strings.EqualFold(g.MCPClientSideAuthHeaderName, "authorization"):
		p.errorf(src.keyAuth, path, "Authorization cannot carry both gateway keys and the client credential of general_settings.mcp_client_side_auth_header_name")
		return
	}
	var forwards []string
	for _, s := range cfg.Servers {
		for _, h := range s.ExtraHeaders {
			if strings.EqualFold(h, "authorization") {
				forwards = append(forwards, s.Name)
			}
		}
	}
	msg := "gateway keys are also read from Authorization when " + g.KeyHeaderName + " is absent, as LiteLLM does; " +
		"Authorization then means two things (docs/access-control.md): a request whose key came in Authorization " +
		"sends no Authorization of the client's to any upstream (extra_headers, x-mcp-<alias>-authorization), and a " +
		"client's own upstream token in Authorization without " + g.KeyHeaderName + " is refused as an invalid key (401); " +
		"clients that can send " + g.KeyHeaderName + " should"
	if len(forwards) > 0 {
		msg += "; extra_headers forwards Authorization only with the key in " + g.KeyHeaderName + ": " + strings.Join(forwards, ", ")
	}
	p.warn(src.keyAuth, path, msg)
}

// checkKeys finds duplicate aliases and keys. Messages name entries by
// position and alias, never by key or digest.
func (p *parser) checkKeys(cfg *config.Config) {
	byAlias := make(map[string]int)
	byToken := make(map[string]int)
	for i, k := range cfg.Access.Keys {
		path := index("access.keys", i)
		line := &yaml.Node{Line: k.Line}
		if k.Alias == "master_key" {
			p.errorf(line, join(path, "key_alias"), "master_key names general_settings.master_key in logs and policy; choose another alias")
		}
		if j, dup := byAlias[k.Alias]; dup && k.Alias != "" {
			p.errorf(line, join(path, "key_alias"), "same key_alias as %s", index("access.keys", j))
		} else {
			byAlias[k.Alias] = i
		}
		if k.Token == "" {
			continue
		}
		if j, dup := byToken[k.Token]; dup {
			p.errorf(line, path, "same key as %s", index("access.keys", j))
		} else {
			byToken[k.Token] = i
		}
		if k.Token == cfg.General.MasterKeyHash {
			p.errorf(line, path, "same key as general_settings.master_key")
		}
	}
}

// credentialHeaders may never reach the policy input (or its logs).
var credentialHeaders = setOf("authorization", "proxy-authorization", "cookie", "x-api-key")

func (p *parser) checkInputHeaders(cfg *config.Config, src *accessSource) {
	a := &cfg.Access
	if a.InputHeaders == nil {
		a.InputHeaders = []string{"user-agent", "mcp-protocol-version"}
		return
	}
	const path = "access.input_headers"
	for i, h := range a.InputHeaders {
		h = strings.ToLower(h)
		a.InputHeaders[i] = h
		ip := index(path, i)
		switch {
		case !isToken(h):
			p.errorf(src.headers, ip, "is not a valid HTTP header name")
		case credentialHeaders[h], h == strings.ToLower(cfg.General.KeyHeaderName),
			h == strings.ToLower(cfg.General.MCPClientSideAuthHeaderName),
			strings.HasPrefix(h, "x-mcp-") && h != "x-mcp-servers" && h != "x-mcp-access-groups":
			p.errorf(src.headers, ip, "carries credentials and cannot be passed to the policy")
		}
	}
}

// resolveServers rewrites server names to aliases.
func resolveServers(o *config.ObjectPermission, aliases map[string]string) {
	for i, s := range o.MCPServers {
		if a := aliases[s]; a != "" {
			o.MCPServers[i] = a
		}
	}
	for _, m := range []map[string][]string{o.MCPToolPermissions, o.MCPDisallowedTools} {
		for s, tools := range m {
			if a := aliases[s]; a != "" && a != s {
				delete(m, s)
				m[a] = append(m[a], tools...)
			}
		}
	}
}
