package configfile

import (
	"cmp"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// maxAliasLen bounds server names and aliases, leaving room for tool
// names within MCP's 128 characters.
const maxAliasLen = 64

// validateServers runs the checks that involve more than one key, after
// the whole file is read (they need the prefix separator and aliases).
func (p *parser) validateServers(servers []config.Server, sources []serverSource, sep string) {
	byAlias := make(map[string]string)
	for i := range servers {
		s, src := &servers[i], sources[i]
		path := join("mcp_servers", s.Name)
		p.checkNames(s, src, path, sep)
		if s.Alias == "" {
			s.Alias = s.Name
		}
		if other, dup := byAlias[s.Alias]; dup {
			n, ap := src.key, path
			if src.aliasNode != nil {
				n, ap = src.aliasNode, src.aliasPath
			}
			p.errorf(n, ap, "same alias as %s; aliases prefix tool names and must be unique", join("mcp_servers", other))
		} else {
			byAlias[s.Alias] = s.Name
		}
		p.checkTransport(s, src, path)
		p.checkLiteLLMKeys(s, src, path)
		p.checkAuth(s, src, path)
		p.checkHeaders(s, src, path)
		if s.SpecVersion != "" {
			p.ignore(src.node("spec_version"), join(path, "spec_version"), "the protocol version is negotiated at initialize")
		}
		if s.MCPInfo.ServerName == "" {
			s.MCPInfo.ServerName = s.Name
		}
		if s.MCPInfo.Description == "" {
			s.MCPInfo.Description = s.Description
		}
	}
	p.checkServerIDs(servers, sources)
}

// checkServerIDs checks server_id: LiteLLM refuses two servers with one
// id; here an id also names its server in access: lists, so it must not
// be another server's name or alias either.
func (p *parser) checkServerIDs(servers []config.Server, sources []serverSource) {
	owner := make(map[string]string) // name or alias → server name
	for _, s := range servers {
		owner[s.Name] = s.Name
		owner[s.Alias] = s.Name
	}
	ids := make(map[string]string)
	for i, s := range servers {
		if s.ServerID == "" {
			continue
		}
		path := join(join("mcp_servers", s.Name), "server_id")
		n := sources[i].node("server_id")
		if other, dup := ids[s.ServerID]; dup {
			p.errorf(n, path, "same server_id as %s", join("mcp_servers", other))
		} else if o, taken := owner[s.ServerID]; taken && o != s.Name {
			p.errorf(n, path, "is the name or alias of %s", join("mcp_servers", o))
		}
		ids[s.ServerID] = s.Name
	}
}

// checkLiteLLMKeys resolves LiteLLM keys that overlap this gateway's:
// upstream_token_header is auth_header_name, and protocol_version falls
// back to mcp_info.protocol_version, then auto (load_servers_from_config).
func (p *parser) checkLiteLLMKeys(s *config.Server, src serverSource, path string) {
	if s.ServerID == "" && src.given("server_id") && !src.bad["server_id"] {
		p.errorf(src.node("server_id"), join(path, "server_id"), "must not be empty")
	}
	if h := s.UpstreamTokenHeader; h != "" {
		if s.AuthHeaderName != "" && !strings.EqualFold(s.AuthHeaderName, h) {
			p.errorf(src.node("upstream_token_header"), join(path, "upstream_token_header"), "differs from auth_header_name; set one of them")
		}
		s.AuthHeaderName = cmp.Or(s.AuthHeaderName, h)
	}
	if s.ProtocolVersion == "" {
		s.ProtocolVersion = config.ProtocolAuto
		if v := s.MCPInfo.ProtocolVersion; v != "" {
			s.ProtocolVersion = v
			if v != config.ProtocolAuto {
				p.notSupported(src.node("mcp_info"), join(join(path, "mcp_info"), "protocol_version"), "the gateway negotiates each upstream's version (auto)")
			}
		}
	}
	if s.ProtocolVersion == "2026-07-28" && s.Transport == config.TransportSSE {
		p.errorf(src.node("protocol_version"), join(path, "protocol_version"), "2026-07-28 needs transport http or stdio (LiteLLM: Modern MCP requires HTTP or stdio transport)")
	}
}

// checkNames checks the entry's name and its alias. The alias prefixes
// tool names and names an Envoy cluster, so it must be 1-64 characters
// of [A-Za-z0-9_-] without the prefix separator. As in LiteLLM
// (validate_mcp_server_name), the entry's name must not contain the
// separator even when an alias is set.
func (p *parser) checkNames(s *config.Server, src serverSource, path, sep string) {
	what := "alias"
	if src.aliasNode != nil {
		what = "server name"
	}
	if src.aliasNode == nil && !validAlias(s.Name) {
		p.errorf(src.key, path, "alias must be 1-%d characters of A-Z, a-z, 0-9, _ and - (it prefixes tool names)", maxAliasLen)
	} else if sep != "" && strings.Contains(s.Name, sep) {
		p.errorf(src.key, path, "%s contains the tool prefix separator %q; rename it or set general_settings.mcp_tool_prefix_separator", what, sep)
	}
	if src.aliasNode == nil {
		return
	}
	switch {
	case !validAlias(s.Alias):
		p.errorf(src.aliasNode, src.aliasPath, "alias must be 1-%d characters of A-Z, a-z, 0-9, _ and - (it prefixes tool names)", maxAliasLen)
	case sep != "" && strings.Contains(s.Alias, sep):
		p.errorf(src.aliasNode, src.aliasPath, "alias contains the tool prefix separator %q; rename it or set general_settings.mcp_tool_prefix_separator", sep)
	}
}

func validAlias(a string) bool {
	if a == "" || len(a) > maxAliasLen {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// stdioKeys are the keys only transport stdio uses.
var stdioKeys = []string{"command", "args", "env", "cwd", "session_mode", "startup", "idle_timeout", "max_processes"}

func (p *parser) checkTransport(s *config.Server, src serverSource, path string) {
	if s.Transport == "" {
		if src.given("transport") {
			return // an invalid transport, already reported
		}
		s.Transport = config.TransportHTTP
	}
	p.checkSpecPath(s, src, path)
	if s.Transport == config.TransportStdio {
		switch {
		case src.bad["command"], src.hinted["command"]:
		case s.Command == "" && src.given("command"):
			p.errorf(src.node("command"), join(path, "command"), "must not be empty")
		case s.Command == "":
			p.errorf(src.key, path, "command is required for transport stdio")
		}
		if _, ok := src.fields["url"]; ok {
			p.ignore(src.node("url"), join(path, "url"), "transport stdio does not use url")
		}
		for k, v := range s.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
				p.errorf(src.node("env"), join(path, "env"), "environment variable names must not be empty or contain = or NUL")
				break
			}
		}
		return
	}
	for _, k := range stdioKeys {
		if _, ok := src.fields[k]; ok {
			p.ignore(src.node(k), join(path, k), "only used with transport stdio")
		}
	}
	if src.bad["url"] || src.hinted["url"] {
		return
	}
	if s.URL == "" && src.given("url") {
		p.errorf(src.node("url"), join(path, "url"), "must not be empty")
		return
	}
	if s.URL == "" {
		if s.SpecPath != "" {
			return // OpenAPI: the base URL may come from the spec
		}
		hint := ""
		if s.Command != "" {
			hint = " (set transport: stdio to run command)"
		}
		p.errorf(src.key, path, "url is required for transport %s%s", s.Transport, hint)
		return
	}
	up := join(path, "url")
	if msg := checkHTTPURL(s.URL); msg != "" {
		p.errorf(src.node("url"), up, "%s", msg)
		return
	}
	if u, err := url.Parse(s.URL); err == nil && u.User != nil {
		p.notSupported(src.node("url"), up, "credentials in the URL are not sent; use auth_type basic")
	}
}

// checkHTTPURL returns why v is not an absolute http(s) URL, or "". The
// message never contains the URL, which may embed a key.
func checkHTTPURL(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "must be a URL without spaces or control characters"
	}
	u, err := url.Parse(v)
	if err != nil {
		return "is not a valid URL"
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "must be an absolute http:// or https:// URL"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "has no host"
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	return ""
}

func (p *parser) checkAuth(s *config.Server, src serverSource, path string) {
	valueKey := "auth_value"
	if _, ok := src.fields["authentication_token"]; ok {
		valueKey = "authentication_token"
	}
	typePath := join(path, "auth_type")
	switch s.AuthType {
	case "", config.AuthNone:
		if s.AuthValue != "" {
			p.ignore(src.node(valueKey), join(path, valueKey), "has no effect without auth_type")
		}
	case config.AuthAPIKey, config.AuthBearerToken, config.AuthBasic, config.AuthAuthorization, config.AuthToken:
		if s.AuthValue == "" && src.given(valueKey) {
			if !src.bad[valueKey] {
				p.errorf(src.node(valueKey), join(path, valueKey), "must not be empty")
			}
		} else if msg := checkHeaderValue(s.AuthValue); msg != "" {
			p.errorf(src.node(valueKey), join(path, valueKey), "%s", msg)
		}
	case config.AuthOAuth2:
		if s.OAuth2.Flow == "" {
			p.errorf(src.node("auth_type"), typePath, "auth_type oauth2 needs oauth2_flow: client_credentials or authorization_code")
		}
	default:
		p.notSupported(src.node("auth_type"), typePath, "requests are sent without these credentials")
	}

	p.checkOAuth2(s, src, path)
	if s.DCRBridge && s.AuthType != config.AuthTruePassthrough && s.AuthType != config.AuthOAuthDelegate {
		p.errorf(src.node("dcr_bridge"), join(path, "dcr_bridge"), "only valid with auth_type true_passthrough or oauth_delegate")
	}
}

// forbiddenHeaders are managed by the proxy and cannot be configured.
var forbiddenHeaders = setOf("host", "content-length", "transfer-encoding", "connection",
	"upgrade", "te", "keep-alive", "proxy-connection", "trailer")

func (p *parser) checkHeaders(s *config.Server, src serverSource, path string) {
	hp := join(path, "static_headers")
	seen := make(map[string]string)
	for _, name := range sortedKeys(s.StaticHeaders) {
		np := join(hp, name)
		n := keyNode(src.value("static_headers"), name)
		lower := strings.ToLower(name)
		switch {
		case !isToken(name):
			p.errorf(n, np, "is not a valid HTTP header name")
			continue
		case forbiddenHeaders[lower]:
			p.errorf(n, np, "cannot be set in static_headers")
			continue
		}
		if other, dup := seen[lower]; dup {
			p.errorf(n, np, "same header as %s (header names ignore case)", join(hp, other))
			continue
		}
		seen[lower] = name
		v := s.StaticHeaders[name]
		if msg := checkHeaderValue(v); msg != "" {
			p.errorf(n, np, "%s", msg)
		} else if strings.Contains(v, "${") {
			p.notSupported(n, np, "${NAME} server variables are sent literally")
		}
	}
	for i, name := range s.ExtraHeaders {
		if !isToken(name) {
			p.errorf(src.node("extra_headers"), index(join(path, "extra_headers"), i), "is not a valid HTTP header name")
		}
	}
}

// keyNode finds the key node for key in mapping m, or returns m.
func keyNode(m *yaml.Node, key string) *yaml.Node {
	d := deref(m)
	if d != nil && d.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(d.Content); i += 2 {
			if k := deref(d.Content[i]); k != nil && k.Value == key {
				return d.Content[i]
			}
		}
	}
	return m
}

// isToken reports whether s is an HTTP header name (RFC 9110 token).
func isToken(s string) bool { return credentials.IsHeaderName(s) }

// checkHeaderValue returns why v cannot be sent as a header value, or "".
// It never quotes v, which may be a secret.
func checkHeaderValue(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			if c == '\n' && i == len(v)-1 {
				return "must not end with a line break (a secret file's trailing newline?)"
			}
			return "must not contain line breaks or control characters"
		}
	}
	return ""
}
