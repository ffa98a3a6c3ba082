package config

import (
	"reflect"
	"slices"
)

// Reload reports what a config reload cannot apply: servers added,
// removed or changed in anything but their access settings (allowed_tools,
// disallowed_tools, allowed_params, access_groups, allow_all_keys), a
// changed gateway: block, and general_settings changed in anything but the
// master key and require_key_mcp_access_defined. Those take a restart; the caller says so. It names aliases
// only, never values (they may be secrets).
type Reload struct {
	Added, Removed, Changed []string
	Gateway, General        bool
	// KeySource: access.key_from_authorization changed. It decides which
	// header never reaches an upstream, which the running routers were
	// built with, so it takes a restart.
	KeySource bool
}

// NeedsRestart reports whether anything in r takes a restart.
func (r Reload) NeedsRestart() bool {
	return len(r.Added)+len(r.Removed)+len(r.Changed) > 0 || r.Gateway || r.General || r.KeySource
}

// CompareForReload compares the running config with the next one.
func CompareForReload(running, next *Config) Reload {
	var r Reload
	old := make(map[string]Server, len(running.Servers))
	for _, s := range running.Servers {
		old[s.Alias] = connection(s)
	}
	seen := make(map[string]bool, len(next.Servers))
	for _, s := range next.Servers {
		seen[s.Alias] = true
		prev, ok := old[s.Alias]
		switch {
		case !ok:
			r.Added = append(r.Added, s.Alias)
		case !reflect.DeepEqual(prev, connection(s)):
			r.Changed = append(r.Changed, s.Alias)
		}
	}
	for alias := range old {
		if !seen[alias] {
			r.Removed = append(r.Removed, alias)
		}
	}
	slices.Sort(r.Removed)
	r.Gateway = !reflect.DeepEqual(running.Gateway, next.Gateway)
	g, ng := running.General, next.General
	// Reloaded with the keys.
	g.MasterKeyHash, ng.MasterKeyHash = "", ""
	g.RequireKeyMCPAccessDefined, ng.RequireKeyMCPAccessDefined = false, false
	r.General = g != ng
	r.KeySource = running.Access.KeyFromAuthorization != next.Access.KeyFromAuthorization
	return r
}

// ForReload is the config a reload applies: the running one with next's
// access settings (access: but key_from_authorization, the master key,
// require_key_mcp_access_defined and the access settings of each running
// server). Everything else stays what the running processes
// were built from; CompareForReload says what that leaves out.
func ForReload(running, next *Config) *Config {
	cfg := *running
	cfg.Access = next.Access
	cfg.Access.KeyFromAuthorization = running.Access.KeyFromAuthorization
	cfg.General.MasterKeyHash = next.General.MasterKeyHash
	cfg.General.RequireKeyMCPAccessDefined = next.General.RequireKeyMCPAccessDefined
	byAlias := make(map[string]*Server, len(next.Servers))
	for i := range next.Servers {
		byAlias[next.Servers[i].Alias] = &next.Servers[i]
	}
	cfg.Servers = slices.Clone(running.Servers)
	for i := range cfg.Servers {
		if n := byAlias[cfg.Servers[i].Alias]; n != nil {
			setAccess(&cfg.Servers[i], n)
		}
	}
	return &cfg
}

// setAccess copies a server's access settings, the part a reload applies.
func setAccess(dst, src *Server) {
	dst.AllowedTools, dst.DisallowedTools, dst.AllowedParams = src.AllowedTools, src.DisallowedTools, src.AllowedParams
	dst.AccessGroups, dst.AllowAllKeys = src.AccessGroups, src.AllowAllKeys
}

// connection is s without what a reload applies (and without its line).
func connection(s Server) Server {
	s.Line = 0
	setAccess(&s, &Server{})
	return s
}

// ForApply is the config a running gateway applies live (every server
// added, removed or changed, and the access settings): next, with what
// the running processes cannot change without a restart kept from
// running (the gateway: block, general_settings but the master key and
// require_key_mcp_access_defined, access.key_from_authorization).
// CompareForReload's Gateway, General and KeySource say what that
// leaves out.
func ForApply(running, next *Config) *Config {
	cfg := *next
	cfg.Gateway = running.Gateway
	cfg.General = running.General
	cfg.General.MasterKeyHash = next.General.MasterKeyHash
	cfg.General.RequireKeyMCPAccessDefined = next.General.RequireKeyMCPAccessDefined
	cfg.Access.KeyFromAuthorization = running.Access.KeyFromAuthorization
	return &cfg
}

// NeedsRestartLive reports whether anything in r takes a restart when
// servers are applied live (ForApply): the gateway: block,
// general_settings, access.key_from_authorization.
func (r Reload) NeedsRestartLive() bool { return r.Gateway || r.General || r.KeySource }
