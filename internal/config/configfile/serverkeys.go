package configfile

import (
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// fieldFunc reads one server key into s and reports whether it set a
// non-empty value.
type fieldFunc func(p *parser, n *yaml.Node, path string, s *config.Server) bool

// serverKey describes one key of an mcp_servers entry.
type serverKey struct {
	parse fieldFunc
	// unsupported keys are reported in Config.Unsupported when set (and
	// when `when`, if given, holds), with detail as the explanation.
	unsupported bool
	detail      string
	when        func(s *config.Server) bool
}

// Details for restrictions the gateway does not enforce yet: the warning
// must say that traffic is NOT being filtered.
const notEnforced = "this restriction is NOT enforced"

// serverKeys lists every key LiteLLM reads from a config-file server
// entry (mcp_server_manager.py, load_servers_from_config) plus the
// documented spec_version and cwd. Checks that involve several keys, and
// the transport and auth_type values, are in validate.go.
var serverKeys = map[string]serverKey{
	"url":          {parse: strField(func(s *config.Server) *string { return &s.URL })},
	"transport":    {parse: parseTransport},
	"description":  {parse: strField(func(s *config.Server) *string { return &s.Description })},
	"alias":        {parse: strField(func(s *config.Server) *string { return &s.Alias })},
	"spec_version": {parse: strField(func(s *config.Server) *string { return &s.SpecVersion })},
	"instructions": {parse: strField(func(s *config.Server) *string { return &s.Instructions }), unsupported: true},

	"auth_type":  {parse: parseAuthType},
	"auth_value": {parse: strField(func(s *config.Server) *string { return &s.AuthValue })},
	// LiteLLM's older name for auth_value; it wins when both are set
	// (server() reads it last).
	"authentication_token": {parse: strField(func(s *config.Server) *string { return &s.AuthValue })},
	"static_headers":       {parse: parseStaticHeaders},
	// This gateway's own: the header the credential goes in (see
	// Server.AuthHeaderName).
	"auth_header_name": {parse: strField(func(s *config.Server) *string { return &s.AuthHeaderName })},

	"extra_headers":    {parse: listField(func(s *config.Server) *[]string { return &s.ExtraHeaders })},
	"allowed_tools":    {parse: listField(func(s *config.Server) *[]string { return &s.AllowedTools })},
	"disallowed_tools": {parse: listField(func(s *config.Server) *[]string { return &s.DisallowedTools })},
	"allowed_params":   {parse: parseAllowedParams},
	"access_groups":    {parse: listField(func(s *config.Server) *[]string { return &s.AccessGroups })},
	"allow_all_keys":   {parse: boolField(func(s *config.Server) *bool { return &s.AllowAllKeys })},
	"available_on_public_internet": {
		parse:       boolField(func(s *config.Server) *bool { return &s.AvailableOnPublicInternet }),
		unsupported: true, detail: notEnforced,
		when: func(s *config.Server) bool { return !s.AvailableOnPublicInternet },
	},

	"command": {parse: strField(func(s *config.Server) *string { return &s.Command })},
	"args":    {parse: listField(func(s *config.Server) *[]string { return &s.Args })},
	"env":     {parse: mapField(func(s *config.Server) *map[string]string { return &s.Env })},
	"cwd":     {parse: strField(func(s *config.Server) *string { return &s.Cwd })},

	"spec_path": {parse: strField(func(s *config.Server) *string { return &s.SpecPath })},

	"session_mode":  {parse: parseSessionMode},
	"startup":       {parse: parseStartup},
	"idle_timeout":  {parse: parseIdleTimeout},
	"max_processes": {parse: parseMaxProcesses},

	// OAuth2 keys: checkAuth reports them when the server does not run
	// the client_credentials grant.
	"oauth2_flow":                {parse: enumField(func(s *config.Server) *string { return &s.OAuth2.Flow }, config.OAuth2ClientCredentials, config.OAuth2AuthorizationCode)},
	"client_id":                  {parse: strField(func(s *config.Server) *string { return &s.OAuth2.ClientID })},
	"client_secret":              {parse: strField(func(s *config.Server) *string { return &s.OAuth2.ClientSecret })},
	"scopes":                     {parse: listField(func(s *config.Server) *[]string { return &s.OAuth2.Scopes })},
	"issuer":                     {parse: urlField(func(s *config.Server) *string { return &s.OAuth2.Issuer })},
	"authorization_url":          {parse: urlField(func(s *config.Server) *string { return &s.OAuth2.AuthorizationURL })},
	"token_url":                  {parse: urlField(func(s *config.Server) *string { return &s.OAuth2.TokenURL })},
	"registration_url":           {parse: urlField(func(s *config.Server) *string { return &s.OAuth2.RegistrationURL })},
	"token_endpoint_auth_method": {parse: enumField(func(s *config.Server) *string { return &s.OAuth2.TokenEndpointAuthMethod }, "client_secret_basic", "client_secret_post")},

	"token_exchange_endpoint": {parse: urlField(func(s *config.Server) *string { return &s.TokenExchange.Endpoint }), unsupported: true},
	"audience":                {parse: strField(func(s *config.Server) *string { return &s.TokenExchange.Audience }), unsupported: true},
	"subject_token_type":      {parse: strField(func(s *config.Server) *string { return &s.TokenExchange.SubjectTokenType }), unsupported: true},
	"token_exchange_profile":  {parse: enumField(func(s *config.Server) *string { return &s.TokenExchange.Profile }, "rfc8693", "entra_obo"), unsupported: true},

	"aws_access_key_id":     {parse: strField(func(s *config.Server) *string { return &s.AWS.AccessKeyID }), unsupported: true},
	"aws_secret_access_key": {parse: strField(func(s *config.Server) *string { return &s.AWS.SecretAccessKey }), unsupported: true},
	"aws_session_token":     {parse: strField(func(s *config.Server) *string { return &s.AWS.SessionToken }), unsupported: true},
	"aws_region_name":       {parse: strField(func(s *config.Server) *string { return &s.AWS.RegionName }), unsupported: true},
	"aws_service_name":      {parse: strField(func(s *config.Server) *string { return &s.AWS.ServiceName }), unsupported: true},
	"aws_role_name":         {parse: strField(func(s *config.Server) *string { return &s.AWS.RoleName }), unsupported: true},
	"aws_session_name":      {parse: strField(func(s *config.Server) *string { return &s.AWS.SessionName }), unsupported: true},

	// LiteLLM 1.108.7's ID-JAG (oauth2_id_jag) and private_key_jwt keys.
	"id_jag_resource_token_endpoint": {parse: urlField(func(s *config.Server) *string { return &s.IDJAG.ResourceTokenEndpoint }), unsupported: true},
	"id_jag_resource":                {parse: strField(func(s *config.Server) *string { return &s.IDJAG.Resource }), unsupported: true},
	"id_jag_subject_source":          {parse: strField(func(s *config.Server) *string { return &s.IDJAG.SubjectSource }), unsupported: true},
	"id_jag_resource_client_id":      {parse: strField(func(s *config.Server) *string { return &s.IDJAG.ResourceClientID }), unsupported: true},
	"id_jag_resource_client_secret":  {parse: strField(func(s *config.Server) *string { return &s.IDJAG.ResourceClientSecret }), unsupported: true},
	"client_private_key":             {parse: strField(func(s *config.Server) *string { return &s.IDJAG.ClientPrivateKey }), unsupported: true},
	"client_private_key_id":          {parse: strField(func(s *config.Server) *string { return &s.IDJAG.ClientPrivateKeyID }), unsupported: true},
	"client_assertion_signing_alg":   {parse: strField(func(s *config.Server) *string { return &s.IDJAG.ClientAssertionSigningAlg }), unsupported: true},
	"upstream_resource":              {parse: strField(func(s *config.Server) *string { return &s.UpstreamResource }), unsupported: true, detail: "no RFC 8707 resource is sent to the token endpoint"},
	"per_server_oauth_discovery":     {parse: boolField(func(s *config.Server) *bool { return &s.PerServerOAuthDiscovery }), unsupported: true, when: func(s *config.Server) bool { return s.PerServerOAuthDiscovery }},
	"token_validation":               {parse: presentMapping, unsupported: true, detail: notEnforced},
	"oauth_identity_binding":         {parse: presentMapping, unsupported: true, detail: notEnforced},

	// Other LiteLLM 1.108.7 keys (MCPServerConfig).
	"server_id": {parse: strField(func(s *config.Server) *string { return &s.ServerID })},
	// LiteLLM's name for auth_header_name.
	"upstream_token_header": {parse: strField(func(s *config.Server) *string { return &s.UpstreamTokenHeader })},
	"protocol_version": {
		parse:       enumField(func(s *config.Server) *string { return &s.ProtocolVersion }, protocolVersions...),
		unsupported: true, detail: "the gateway negotiates each upstream's version (auto)",
		when: func(s *config.Server) bool { return s.ProtocolVersion != config.ProtocolAuto },
	},
	"pinned_tools": {parse: parsePinnedTools, unsupported: true, detail: "tools/list shows the upstream's current tools"},
	"rpm":          {parse: parseRPM, unsupported: true, detail: "calls to this server are NOT rate-limited"},

	"delegate_auth_to_upstream": {parse: boolField(func(s *config.Server) *bool { return &s.DelegateAuthToUpstream }), unsupported: true, when: func(s *config.Server) bool { return s.DelegateAuthToUpstream }},
	"oauth_passthrough":         {parse: boolField(func(s *config.Server) *bool { return &s.OAuthPassthrough }), unsupported: true, when: func(s *config.Server) bool { return s.OAuthPassthrough }},
	"dcr_bridge":                {parse: boolField(func(s *config.Server) *bool { return &s.DCRBridge }), unsupported: true, when: func(s *config.Server) bool { return s.DCRBridge }},
	"allow_sampling":            {parse: boolField(func(s *config.Server) *bool { return &s.AllowSampling }), unsupported: true, when: func(s *config.Server) bool { return s.AllowSampling }},
	"allow_elicitation":         {parse: boolField(func(s *config.Server) *bool { return &s.AllowElicitation }), unsupported: true, when: func(s *config.Server) bool { return s.AllowElicitation }},

	"timeout":                 {parse: parseTimeout},
	"max_concurrent_requests": {parse: parseMaxConcurrent, unsupported: true, when: func(s *config.Server) bool { return s.Transport != config.TransportStdio }},
	"env_vars":                {parse: parseEnvVars, unsupported: true, detail: "${NAME} in static_headers is sent literally"},
	"mcp_info":                {parse: parseMCPInfo},
}

// serverKeyNames is sorted, for "did you mean" hints.
var serverKeyNames = sortedKeys(serverKeys)

func strField(get func(*config.Server) *string) fieldFunc {
	return func(p *parser, n *yaml.Node, path string, s *config.Server) bool {
		v, ok := p.str(n, path)
		if ok {
			*get(s) = v
		}
		return ok && v != ""
	}
}

// urlField reads a string that must be an absolute http(s) URL.
func urlField(get func(*config.Server) *string) fieldFunc {
	return func(p *parser, n *yaml.Node, path string, s *config.Server) bool {
		v, ok := p.str(n, path)
		if !ok || v == "" {
			return false
		}
		if msg := checkHTTPURL(v); msg != "" {
			p.errorf(n, path, "%s", msg)
			return false
		}
		*get(s) = v
		return true
	}
}

func listField(get func(*config.Server) *[]string) fieldFunc {
	return func(p *parser, n *yaml.Node, path string, s *config.Server) bool {
		v, ok := p.strList(n, path)
		if ok {
			*get(s) = v
		}
		return ok && len(v) > 0
	}
}

func mapField(get func(*config.Server) *map[string]string) fieldFunc {
	return func(p *parser, n *yaml.Node, path string, s *config.Server) bool {
		v, ok := p.strMap(n, path)
		if ok {
			*get(s) = v
		}
		return ok && len(v) > 0
	}
}

func boolField(get func(*config.Server) *bool) fieldFunc {
	return func(p *parser, n *yaml.Node, path string, s *config.Server) bool {
		v, ok := p.boolean(n, path)
		if ok {
			*get(s) = v
		}
		return ok
	}
}

func enumField(get func(*config.Server) *string, want ...string) fieldFunc {
	return func(p *parser, n *yaml.Node, path string, s *config.Server) bool {
		v, ok := p.enum(n, path, want)
		if ok {
			*get(s) = v
		}
		return ok
	}
}

// transports lists the transport values LiteLLM accepts.
var transports = []string{string(config.TransportHTTP), string(config.TransportSSE), string(config.TransportStdio)}

func parseTransport(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	if d := deref(n); d != nil && d.Kind == yaml.ScalarNode && d.Value == "streamable_http" {
		p.errorf(n, path, `unknown value "streamable_http" (LiteLLM spells Streamable HTTP "http")`)
		return false
	}
	v, ok := p.enum(n, path, transports)
	if ok {
		s.Transport = config.Transport(v)
	}
	return ok
}

// authTypes lists the auth_type values LiteLLM accepts.
var authTypes = []string{
	string(config.AuthNone), string(config.AuthAPIKey), string(config.AuthBearerToken), string(config.AuthBasic),
	string(config.AuthAuthorization), string(config.AuthToken), string(config.AuthOAuth2), string(config.AuthAWSSigV4),
	string(config.AuthOAuth2TokenExchange), string(config.AuthOAuth2IDJAG), string(config.AuthTruePassthrough),
	string(config.AuthOAuthDelegate),
}

func parseAuthType(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	v, ok := p.enum(n, path, authTypes)
	if ok {
		s.AuthType = config.AuthType(v)
	}
	return ok
}

func parseStaticHeaders(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	v, ok := p.strMap(n, path)
	if ok {
		s.StaticHeaders = v
	}
	return ok && len(v) > 0
}

func parseAllowedParams(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	v, ok := p.strListMap(n, path)
	if ok {
		s.AllowedParams = v
	}
	return ok && len(v) > 0
}

func parseTimeout(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	f, ok := p.number(n, path)
	if !ok {
		return false
	}
	if f <= 0 || f > 86400 {
		p.errorf(n, path, "must be above 0 and at most 86400 seconds")
		return false
	}
	s.Timeout = time.Duration(f * float64(time.Second))
	return true
}

// presentMapping type-checks a mapping whose content the gateway does not
// read; it reports whether the mapping has entries.
func presentMapping(p *parser, n *yaml.Node, path string, _ *config.Server) bool {
	pairs, ok := p.mapping(n, path)
	return ok && len(pairs) > 0
}

// protocolVersions are LiteLLM's MCPUpstreamProtocol values.
var protocolVersions = []string{config.ProtocolAuto, "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}

// parsePinnedTools reads LiteLLM's pinned_tools: tool name → {description,
// input_schema} (PinnedMCPTool, which forbids other keys).
func parsePinnedTools(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	pairs, ok := p.mapping(n, path)
	if !ok {
		return false
	}
	s.PinnedTools = s.PinnedTools[:0]
	for _, f := range pairs {
		fp := join(path, f.key)
		tool, ok := p.mapping(f.v, fp)
		if !ok {
			continue
		}
		for _, t := range tool {
			switch t.key {
			case "description":
				p.str(t.v, join(fp, t.key))
			case "input_schema":
				p.mapping(t.v, join(fp, t.key))
			default:
				p.errorf(t.k, join(fp, t.key), "unknown key%s", suggest(t.key, []string{"description", "input_schema"}))
			}
		}
		s.PinnedTools = append(s.PinnedTools, f.key)
	}
	return len(s.PinnedTools) > 0
}

func parseRPM(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	i, ok := p.integer(n, path)
	if !ok {
		return false
	}
	if i < 1 || i > 1<<30 {
		p.errorf(n, path, "must be at least 1")
		return false
	}
	s.RPM = int(i)
	return true
}

func parseMaxConcurrent(p *parser, n *yaml.Node, path string, s *config.Server) bool {
	i, ok := p.integer(n, path)
	if !ok {
		return false
	}
	if i < 1 || i > 1<<20 {
		p.errorf(n, path, "must be at least 1")
		return false
	}
	s.MaxConcurrentRequests = int(i)
	return true
}
