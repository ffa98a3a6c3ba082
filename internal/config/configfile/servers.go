package configfile

import (
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// serverSource remembers where a server's settings are in the file, for
// the checks that run after the whole file is read.
type serverSource struct {
	key    *yaml.Node      // the entry's key
	fields map[string]pair // keys present in the entry
	bad    map[string]bool // keys whose value was reported as wrong
	// hinted keys were suggested for an unknown key ("urll" → url), so
	// their absence is not reported again.
	hinted map[string]bool

	// Where the alias came from, when it is not the entry's key: the
	// alias key or a litellm_settings.mcp_aliases entry.
	aliasNode *yaml.Node
	aliasPath string
}

// node returns the key node of field key, or the entry's key node when
// the field is absent; messages use its line.
func (src serverSource) node(key string) *yaml.Node {
	if f, ok := src.fields[key]; ok {
		return f.k
	}
	return src.key
}

// given reports whether field key has a non-null value.
func (src serverSource) given(key string) bool {
	f, ok := src.fields[key]
	return ok && !isNull(deref(f.v))
}

// value returns the value node of field key, or nil.
func (src serverSource) value(key string) *yaml.Node {
	if f, ok := src.fields[key]; ok {
		return f.v
	}
	return nil
}

// servers reads the mcp_servers mapping.
func (p *parser) servers(n *yaml.Node) ([]config.Server, []serverSource) {
	const path = "mcp_servers"
	pairs, _ := p.mapping(n, path)
	servers := make([]config.Server, 0, len(pairs))
	sources := make([]serverSource, 0, len(pairs))
	for _, pr := range pairs {
		s, src := p.server(pr)
		servers = append(servers, s)
		sources = append(sources, src)
	}
	return servers, sources
}

// server reads one mcp_servers entry.
func (p *parser) server(pr pair) (config.Server, serverSource) {
	path := join("mcp_servers", pr.key)
	s := config.Server{
		Name:                      pr.key,
		Line:                      pr.k.Line,
		AvailableOnPublicInternet: defaultAvailableOnPublicInternet,
	}
	src := serverSource{key: pr.k, fields: make(map[string]pair), bad: make(map[string]bool), hinted: make(map[string]bool)}
	if isNull(deref(pr.v)) {
		p.errorf(pr.k, path, "is empty; a server needs at least url (or command, for transport stdio)")
		return s, src
	}
	pairs, ok := p.mapping(pr.v, path)
	if !ok {
		return s, src
	}
	// LiteLLM reads authentication_token before auth_value, so it wins.
	sort.SliceStable(pairs, func(i, j int) bool {
		return pairs[j].key == "authentication_token" && pairs[i].key != "authentication_token"
	})
	for _, f := range pairs {
		fp := join(path, f.key)
		spec, known := serverKeys[f.key]
		if !known {
			if hint := didYouMean(f.key, serverKeyNames); hint != "" {
				src.hinted[hint] = true
			}
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, serverKeyNames))
			continue
		}
		src.fields[f.key] = f
		before := len(p.problems)
		set := spec.parse(p, f.v, fp, &s)
		src.bad[f.key] = len(p.problems) > before
		if set && spec.unsupported && (spec.when == nil || spec.when(&s)) {
			p.notSupported(f.k, fp, spec.detail)
		}
	}
	if f, ok := src.fields["alias"]; ok && s.Alias != "" {
		src.aliasNode, src.aliasPath = f.k, join(path, "alias")
	}
	return s, src
}

// defaultAvailableOnPublicInternet is available_on_public_internet's
// default, as in current LiteLLM.
const defaultAvailableOnPublicInternet = true
