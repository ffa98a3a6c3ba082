package config

import (
	"time"
)

// Transport is how an upstream MCP server is reached: "http" (Streamable
// HTTP, the default as in LiteLLM's config loader), "sse" or "stdio".
type Transport string

// Transports, as spelled in LiteLLM (litellm/types/mcp.py, MCPTransport).
const (
	TransportHTTP  Transport = "http"
	TransportSSE   Transport = "sse"
	TransportStdio Transport = "stdio"
)

// SessionMode is session_mode: how a stdio server's processes are shared
// between client sessions.
type SessionMode string

// Session modes.
const (
	// SessionShared is one process for every client (the default).
	SessionShared SessionMode = "shared"
	// SessionPerClient is one process per client session.
	SessionPerClient SessionMode = "per_session"
)

// Startup is startup: when a stdio server's shared process starts.
type Startup string

// Startups.
const (
	// StartupLazy starts a process when a request first needs it (the
	// default).
	StartupLazy Startup = "lazy"
	// StartupEager starts the shared process with the gateway and restarts
	// it after a crash without waiting for a request.
	StartupEager Startup = "eager"
)

// AuthType is how the gateway authenticates to an upstream server, as
// spelled in LiteLLM (litellm/types/mcp.py, MCPAuth).
type AuthType string

// Auth types. The static ones (none through token) and oauth2 with
// oauth2_flow client_credentials are implemented; the others are accepted
// and reported as not supported yet.
const (
	AuthNone                AuthType = "none"
	AuthAPIKey              AuthType = "api_key"
	AuthBearerToken         AuthType = "bearer_token"
	AuthBasic               AuthType = "basic"
	AuthAuthorization       AuthType = "authorization"
	AuthToken               AuthType = "token"
	AuthOAuth2              AuthType = "oauth2"
	AuthAWSSigV4            AuthType = "aws_sigv4"
	AuthOAuth2TokenExchange AuthType = "oauth2_token_exchange"
	AuthOAuth2IDJAG         AuthType = "oauth2_id_jag"
	AuthTruePassthrough     AuthType = "true_passthrough"
	AuthOAuthDelegate       AuthType = "oauth_delegate"
)

// Server is one mcp_servers entry. Field comments name the YAML key.
// Fields marked "not acted on yet" are accepted, validated and reported
// in Config.Unsupported when set.
type Server struct {
	// Name is the entry's key in mcp_servers (LiteLLM's server_name).
	Name string
	// Alias prefixes the server's tool names: the `alias` key, else the
	// first litellm_settings.mcp_aliases entry naming this server, else
	// Name (LiteLLM's get_server_prefix).
	Alias string
	// Line is the line of the entry's key.
	Line int

	URL         string    // url: the MCP endpoint (http, sse) or OpenAPI base URL
	Transport   Transport // transport: http (default), sse or stdio
	Description string    // description
	// SpecVersion (spec_version) is accepted and ignored: the protocol
	// version is negotiated at initialize (LiteLLM does not read it either).
	SpecVersion  string
	Instructions string // instructions: override for initialize instructions; not acted on yet

	AuthType AuthType // auth_type; "" means none
	// AuthValue (auth_value, or LiteLLM's older authentication_token,
	// which wins when both are set) is the static credential. Secret.
	AuthValue string
	// StaticHeaders (static_headers) are sent on every request; they
	// override headers derived from auth_type. Values may be secrets.
	StaticHeaders map[string]string
	// AuthHeaderName (auth_header_name, this gateway's own key) is the
	// header the credential is sent in instead of the auth_type's own
	// (X-API-Key for api_key, Authorization for the others): auth_value,
	// the OAuth2 token and the legacy client credential alike.
	AuthHeaderName string

	ExtraHeaders    []string            // extra_headers: client headers forwarded to this server when present
	AllowedTools    []string            // allowed_tools: the only tools clients see and call
	DisallowedTools []string            // disallowed_tools: tools clients neither see nor call
	AllowedParams   map[string][]string // allowed_params: tool (bare or prefixed) → the only argument names it takes
	AccessGroups    []string            // access_groups: groups selectable in /mcp/<group> and x-mcp-servers, and grantable to keys
	AllowAllKeys    bool                // allow_all_keys: every valid key may use this server
	// AvailableOnPublicInternet (available_on_public_internet) defaults
	// to true, as in current LiteLLM; false is not enforced yet.
	AvailableOnPublicInternet bool

	// stdio transport: the child process the sidecar runs.
	Command string            // command
	Args    []string          // args
	Env     map[string]string // env; values may be secrets
	Cwd     string            // cwd
	// stdio supervision, this gateway's own keys (see docs/adapters.md).
	SessionMode  SessionMode   // session_mode: shared (default) or per_session
	Startup      Startup       // startup: lazy (default) or eager
	IdleTimeout  time.Duration // idle_timeout (seconds in YAML)
	MaxProcesses int           // max_processes: per_session process cap

	// SpecPath (spec_path) is an OpenAPI 3.x or Swagger 2.0 document, a
	// file path or an http(s) URL, whose operations the sidecar serves as
	// tools; URL is then the REST API's base URL.
	SpecPath string

	OAuth2        OAuth2Settings        // oauth2 fields; the client_credentials flow is run (FetchesToken)
	TokenExchange TokenExchangeSettings // oauth2_token_exchange fields; not acted on yet
	AWS           AWSSigV4Settings      // aws_sigv4 fields; not acted on yet

	DelegateAuthToUpstream bool // delegate_auth_to_upstream; not acted on yet
	OAuthPassthrough       bool // oauth_passthrough; not acted on yet
	DCRBridge              bool // dcr_bridge; not acted on yet
	AllowSampling          bool // allow_sampling; not acted on yet
	AllowElicitation       bool // allow_elicitation; not acted on yet

	// Timeout (timeout, seconds in YAML, as in LiteLLM) bounds one call
	// routed to the server, from the request sent to the answer complete
	// (Envoy's route timeout; adapters apply it too). Zero means
	// upstreams.DefaultCallTimeout.
	Timeout time.Duration
	// MaxConcurrentRequests (max_concurrent_requests) bounds the requests
	// in flight per stdio process; not acted on yet for other servers.
	MaxConcurrentRequests int

	// ServerID (server_id) pins LiteLLM's database id of the server; here
	// it is another name of the server in access: lists, where LiteLLM's
	// object_permission.mcp_servers holds server ids.
	ServerID string
	// UpstreamTokenHeader (upstream_token_header) is LiteLLM's name for
	// auth_header_name; validation merges it into AuthHeaderName.
	UpstreamTokenHeader string
	// ProtocolVersion (protocol_version, or mcp_info.protocol_version) is
	// "auto" (the default: negotiated) or a version to pin; not acted on
	// yet when pinned.
	ProtocolVersion string
	// PinnedTools (pinned_tools) are the tools of LiteLLM's pinned
	// catalog, by name; not acted on yet.
	PinnedTools []string
	// RPM (rpm) limits calls per minute to this server; not acted on yet.
	RPM int
	// UpstreamResource (upstream_resource) is an RFC 8707 resource for the
	// server's OAuth2 legs; not acted on yet.
	UpstreamResource string
	// PerServerOAuthDiscovery (per_server_oauth_discovery); not acted on yet.
	PerServerOAuthDiscovery bool
	// IDJAG holds the oauth2_id_jag keys; not acted on yet.
	IDJAG IDJAGSettings

	// EnvVars (env_vars) are LiteLLM server variables, interpolated into
	// static_headers as ${NAME}; not acted on yet.
	EnvVars []EnvVar

	MCPInfo MCPInfo // mcp_info
}

// OAuth2Settings are the upstream OAuth 2.0 keys of a server entry.
type OAuth2Settings struct {
	Flow                    string   // oauth2_flow: client_credentials or authorization_code
	ClientID                string   // client_id
	ClientSecret            string   // client_secret; secret
	Scopes                  []string // scopes
	Issuer                  string   // issuer
	AuthorizationURL        string   // authorization_url
	TokenURL                string   // token_url
	RegistrationURL         string   // registration_url
	TokenEndpointAuthMethod string   // token_endpoint_auth_method
}

// TokenExchangeSettings are the RFC 8693 (on-behalf-of) keys.
type TokenExchangeSettings struct {
	Endpoint         string // token_exchange_endpoint
	Audience         string // audience
	SubjectTokenType string // subject_token_type
	Profile          string // token_exchange_profile: rfc8693 or entra_obo
}

// AWSSigV4Settings are the aws_sigv4 keys. Credentials are secrets.
type AWSSigV4Settings struct {
	AccessKeyID     string // aws_access_key_id
	SecretAccessKey string // aws_secret_access_key
	SessionToken    string // aws_session_token
	RegionName      string // aws_region_name
	ServiceName     string // aws_service_name
	RoleName        string // aws_role_name
	SessionName     string // aws_session_name
}

// IDJAGSettings are the oauth2_id_jag and private_key_jwt keys. Secrets:
// ResourceClientSecret and ClientPrivateKey.
type IDJAGSettings struct {
	ResourceTokenEndpoint     string // id_jag_resource_token_endpoint
	Resource                  string // id_jag_resource
	SubjectSource             string // id_jag_subject_source
	ResourceClientID          string // id_jag_resource_client_id
	ResourceClientSecret      string // id_jag_resource_client_secret
	ClientPrivateKey          string // client_private_key
	ClientPrivateKeyID        string // client_private_key_id
	ClientAssertionSigningAlg string // client_assertion_signing_alg
}

// EnvVar is one env_vars entry (LiteLLM's MCPEnvVar).
type EnvVar struct {
	Name        string // name
	Value       string // value; may be a secret
	Scope       string // scope: global (default) or user
	Description string // description
}

// MCPInfo is a server's mcp_info block. LiteLLM keeps keys it does not
// know for display; they are listed in Config.Ignored.
type MCPInfo struct {
	ServerName  string // server_name; defaults to the entry name
	Description string // description; defaults to the server's description
	LogoURL     string // logo_url; not acted on yet
	// ProtocolVersion (protocol_version) is LiteLLM's fallback for the
	// server's protocol_version.
	ProtocolVersion string
	// Cost is mcp_server_cost_info; not acted on yet.
	Cost *CostInfo
}

// CostInfo is LiteLLM's per-call cost tracking for a server.
type CostInfo struct {
	DefaultCostPerQuery    float64            // default_cost_per_query
	ToolNameToCostPerQuery map[string]float64 // tool_name_to_cost_per_query
}

// OAuth2 flows (oauth2_flow).
const (
	OAuth2ClientCredentials = "client_credentials"
	OAuth2AuthorizationCode = "authorization_code"
)

// FetchesToken reports whether the gateway fetches the server's OAuth2
// token itself: auth_type oauth2 with oauth2_flow client_credentials.
func (s *Server) FetchesToken() bool {
	return s.AuthType == AuthOAuth2 && s.OAuth2.Flow == OAuth2ClientCredentials
}

// Adapted reports whether the sidecar adapts s (stdio, legacy SSE or
// OpenAPI) rather than Envoy reaching it directly.
func (s *Server) Adapted() bool {
	return s.SpecPath != "" || s.Transport == TransportStdio || s.Transport == TransportSSE
}

// ProtocolAuto is protocol_version's default: negotiate with the upstream.
const ProtocolAuto = "auto"
