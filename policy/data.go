package policy

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// dataDocument builds data.gateway from the config:
//
//	settings  {all_servers_by_default, require_key_mcp_access_defined}
//	servers   alias → {allowed_tools, disallowed_tools, tools_open,
//	                   allowed_params: tool → {names, set}, allow_all_keys}
//	groups    access group → {alias: true}
//	keys      key_alias → level (never the key or its digest)
//	teams     team_id → level, and "" for keys without a team
//	orgs      organization_id → level, and "" for teams without one
//
// A level is what object_permission says, shaped for lookups:
//
//	restricts, open   whether the level sets a server list (and its negation)
//	servers, groups   mcp_servers and mcp_access_groups as written
//	listed            the servers its list allows: for a key mcp_servers;
//	                  for a team or organization also its groups' servers
//	extra_servers     (keys) servers added on top: the key's groups'
//	                  servers and every allow_all_keys server
//	default_all       (keys) no groups and all_servers_by_default
//	tools, tools_open mcp_tool_permissions: server → {tool: true}, and
//	                  server → false for each server that has an entry
//	deny_tools        mcp_disallowed_tools: server → {tool: true}
//
// Lists used for membership become objects {name: true} so the policy
// looks names up instead of scanning. A tool name written with its
// server's prefix also stands for the bare name (LiteLLM checks both
// forms), so the policy looks tools up by the upstream's name alone. When
// a server sets allowed_tools, its disallowed_tools are left out (allowed
// wins, as in LiteLLM).
func dataDocument(cfg *config.Config) (ast.Object, error) {
	sep := cfg.General.MCPToolPrefixSeparator
	groups := map[string]map[string]any{}
	for _, s := range cfg.Servers {
		for _, g := range s.AccessGroups {
			if groups[g] == nil {
				groups[g] = map[string]any{}
			}
			groups[g][s.Alias] = true
		}
	}
	servers := map[string]any{}
	allowAll := map[string]any{}
	for _, s := range cfg.Servers {
		disallowed := s.DisallowedTools
		if len(s.AllowedTools) > 0 {
			disallowed = nil
		}
		servers[s.Alias] = map[string]any{
			"allowed_tools":    toolSet(s.Alias, sep, s.AllowedTools),
			"disallowed_tools": toolSet(s.Alias, sep, disallowed),
			"tools_open":       len(s.AllowedTools) == 0,
			"allowed_params":   paramRules(s.Alias, sep, s.AllowedParams),
			"allow_all_keys":   s.AllowAllKeys,
		}
		if s.AllowAllKeys {
			allowAll[s.Alias] = true
		}
	}
	b := levelBuilder{groups: groups, sep: sep}
	keys := map[string]any{}
	for _, k := range cfg.Access.Keys {
		// A key's own access groups add servers; only mcp_servers
		// restricts it.
		l := b.level(k.Permission, k.Permission.MCPServers != nil, false)
		extra := b.expand(k.Permission.MCPAccessGroups)
		for a := range allowAll {
			extra[a] = true
		}
		l["extra_servers"] = extra
		l["default_all"] = len(k.Permission.MCPAccessGroups) == 0 && cfg.Access.AllServersByDefault
		keys[k.Alias] = l
	}
	none := b.level(config.ObjectPermission{}, false, true)
	teams := map[string]any{"": none}
	for _, t := range cfg.Access.Teams {
		teams[t.ID] = b.level(t.Permission, t.Permission.Set(), true)
	}
	orgs := map[string]any{"": none}
	for _, o := range cfg.Access.Organizations {
		orgs[o.ID] = b.level(o.Permission, o.Permission.Set(), true)
	}
	groupDoc := make(map[string]any, len(groups))
	for g, m := range groups {
		groupDoc[g] = m
	}
	doc := map[string]any{
		"settings": map[string]any{
			"all_servers_by_default":         cfg.Access.AllServersByDefault,
			"require_key_mcp_access_defined": cfg.General.RequireKeyMCPAccessDefined,
		},
		"servers": servers,
		"groups":  groupDoc,
		"keys":    keys,
		"teams":   teams,
		"orgs":    orgs,
	}
	v, err := ast.InterfaceToValue(map[string]any{"gateway": doc})
	if err != nil {
		return nil, fmt.Errorf("policy: build data document: %w", err)
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("policy: data document is %T, not an object", v)
	}
	return obj, nil
}

type levelBuilder struct {
	groups map[string]map[string]any
	sep    string
}

// level is the data of one key, team or organization; groupsListed says
// whether its access groups are part of its list (teams, organizations)
// rather than additions (keys).
func (b levelBuilder) level(o config.ObjectPermission, restricts, groupsListed bool) map[string]any {
	listed := set(o.MCPServers)
	if groupsListed {
		for a := range b.expand(o.MCPAccessGroups) {
			listed[a] = true
		}
	}
	tools := make(map[string]any, len(o.MCPToolPermissions))
	toolsOpen := make(map[string]any, len(o.MCPToolPermissions))
	for alias, names := range o.MCPToolPermissions {
		tools[alias] = toolSet(alias, b.sep, names)
		toolsOpen[alias] = false
	}
	deny := make(map[string]any, len(o.MCPDisallowedTools))
	for alias, names := range o.MCPDisallowedTools {
		deny[alias] = toolSet(alias, b.sep, names)
	}
	return map[string]any{
		"restricts":  restricts,
		"open":       !restricts,
		"servers":    set(o.MCPServers),
		"groups":     stringList(o.MCPAccessGroups),
		"listed":     listed,
		"tools":      tools,
		"tools_open": toolsOpen,
		"deny_tools": deny,
	}
}

// expand returns the servers of the given access groups.
func (b levelBuilder) expand(groups []string) map[string]any {
	out := map[string]any{}
	for _, g := range groups {
		for alias := range b.groups[g] {
			out[alias] = true
		}
	}
	return out
}

// toolSet is a set of tool names of server alias, each also under its bare
// name when it is written with the server's prefix.
func toolSet(alias, sep string, names []string) map[string]any {
	m := make(map[string]any, len(names))
	for _, n := range names {
		m[n] = true
		if bare, ok := strings.CutPrefix(n, alias+sep); ok && bare != "" {
			m[bare] = true
		}
	}
	return m
}

// paramRules is allowed_params by bare tool name; an entry under the
// prefixed name wins over one under the bare name, as LiteLLM looks the
// prefixed one up first.
func paramRules(alias, sep string, rules map[string][]string) map[string]any {
	out := make(map[string]any, len(rules))
	rule := func(names []string) map[string]any {
		return map[string]any{"names": stringList(names), "set": set(names)}
	}
	for tool, names := range rules {
		if _, prefixed := strings.CutPrefix(tool, alias+sep); !prefixed {
			out[tool] = rule(names)
		}
	}
	for tool, names := range rules {
		if bare, prefixed := strings.CutPrefix(tool, alias+sep); prefixed && bare != "" {
			out[bare] = rule(names)
		}
	}
	return out
}

func set(names []string) map[string]any {
	m := make(map[string]any, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func stringList(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// keyring builds the key index from the config: digests only.
func keyring(cfg *config.Config) (*identity.Keyring, error) {
	orgOf := make(map[string]string, len(cfg.Access.Teams))
	blockedTeam := make(map[string]bool)
	for _, t := range cfg.Access.Teams {
		orgOf[t.ID] = t.OrganizationID
		blockedTeam[t.ID] = t.Blocked
	}
	keys := make([]identity.Key, 0, len(cfg.Access.Keys))
	for _, k := range cfg.Access.Keys {
		d, err := identity.ParseDigest(k.Token)
		if err != nil {
			return nil, fmt.Errorf("policy: access key %s: token %w", k.Alias, err)
		}
		keys = append(keys, identity.Key{
			Digest: d,
			Principal: identity.Principal{
				ID: k.Alias, Team: k.TeamID, Org: orgOf[k.TeamID],
				Groups: k.Permission.MCPAccessGroups,
			},
			Blocked: k.Blocked || blockedTeam[k.TeamID],
			Expires: k.Expires,
		})
	}
	var master *identity.Digest
	if cfg.General.MasterKeyHash != "" {
		d, err := identity.ParseDigest(cfg.General.MasterKeyHash)
		if err != nil {
			return nil, fmt.Errorf("policy: general_settings.master_key: %w", err)
		}
		master = &d
	}
	return identity.NewKeyring(identity.KeySource{Header: cfg.General.KeyHeaderName, AuthorizationFallback: cfg.Access.KeyFromAuthorization}, master, keys)
}
