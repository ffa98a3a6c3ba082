package configfile

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// aliasEntry is one litellm_settings.mcp_aliases entry: alias → server.
type aliasEntry struct {
	alias, server string
	k             *yaml.Node
	fromEnv       bool // server came from the environment: do not echo it
	used          bool
}

// litellmSettings reads litellm_settings. Only mcp_aliases is used;
// other mcp_* keys are reported as not supported, and the section's
// remaining keys as one ignored note.
func (p *parser) litellmSettings(k, n *yaml.Node) []aliasEntry {
	const path = "litellm_settings"
	pairs, _ := p.mapping(n, path)
	var aliases []aliasEntry
	other := false
	for _, f := range pairs {
		fp := join(path, f.key)
		switch {
		case f.key == "mcp_aliases":
			entries, _ := p.mapping(f.v, fp)
			for _, e := range entries {
				if server, ok := p.str(e.v, join(fp, e.key)); ok {
					aliases = append(aliases, aliasEntry{alias: e.key, server: server, k: e.k, fromEnv: fromEnv(e.v)})
				}
			}
		case strings.HasPrefix(f.key, "mcp_"):
			if !isNull(deref(f.v)) {
				p.notSupported(f.k, fp, "")
			}
		default:
			other = true
		}
	}
	if other {
		p.ignore(k, path, "not an MCP gateway setting (only mcp_aliases is read)")
	}
	return aliases
}

// applyAliases gives each server without an `alias` key the first
// mcp_aliases entry that names it, as LiteLLM's load_servers_from_config
// does, and notes the entries that end up unused.
func (p *parser) applyAliases(servers []config.Server, sources []serverSource, aliases []aliasEntry) {
	for i := range servers {
		s := &servers[i]
		if s.Alias != "" {
			continue
		}
		for j := range aliases {
			if a := &aliases[j]; !a.used && a.server == s.Name {
				a.used = true
				s.Alias = a.alias
				sources[i].aliasNode = a.k
				sources[i].aliasPath = join("litellm_settings.mcp_aliases", a.alias)
				break
			}
		}
	}
	for _, a := range aliases {
		if !a.used {
			name := quoteName(a.server)
			if a.fromEnv {
				name = "as its value"
			}
			p.ignore(a.k, join("litellm_settings.mcp_aliases", a.alias),
				"no mcp_servers entry without its own alias is named "+name)
		}
	}
}

// quoteName quotes a name for a message, or describes it when it is too
// long to be a name.
func quoteName(s string) string {
	if len(s) > 64 {
		return "(a long value)"
	}
	return strconv.Quote(s)
}
