package config

import (
	"net/netip"
	"time"
)

// Config is a parsed and validated config file.
type Config struct {
	// Servers are the mcp_servers entries, in file order.
	Servers []Server
	// General holds the MCP-related general_settings.
	General GeneralSettings
	// Gateway holds the gateway's own settings (the `gateway:` block).
	Gateway GatewaySettings
	// Access holds the keys, teams, organizations and policy settings
	// (the `access:` block).
	Access AccessSettings
	// Store says whether and where servers, keys, teams and
	// organizations are also kept in a database (store_model_in_db).
	Store StoreSettings
	// Path is the file configfile.Load read the config from ("" after
	// configfile.Parse), so the gateway can watch it for changes.
	Path string
	// Unsupported lists settings that were accepted and validated but
	// are not acted on yet. Print them as warnings at start-up.
	Unsupported []Problem
	// Ignored lists settings that have no effect on this gateway, such as
	// LiteLLM's sections about LLM models. Print them as notes.
	Ignored []Problem
	// Warnings lists settings the gateway acts on that give up a safe
	// default, each saying what that means (access.key_from_authorization).
	// Print them as warnings at start-up.
	Warnings []Problem
}

// GeneralSettings are the general_settings this gateway reads. LiteLLM's
// other general_settings keys are accepted and listed in Config.Ignored
// (or Config.Unsupported for the MCP-related ones).
type GeneralSettings struct {
	// MCPToolPrefixSeparator joins a server alias and a tool name in the
	// names clients see, as in "github-create_issue". From
	// mcp_tool_prefix_separator, else the MCP_TOOL_PREFIX_SEPARATOR
	// environment variable (LiteLLM's only way to set it), else "-".
	MCPToolPrefixSeparator string
	// MCPClientSideAuthHeaderName is the request header that carries a
	// client-supplied upstream credential (LiteLLM's deprecated
	// x-mcp-auth). As in LiteLLM, the environment variable
	// LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME wins over
	// mcp_client_side_auth_header_name; the default is "x-mcp-auth". It
	// goes to every server in scope as that server's auth (package
	// credentials).
	MCPClientSideAuthHeaderName string
	// MasterKeyHash is the SHA-256 (lower-case hex) of LiteLLM's admin key,
	// general_settings.master_key: it may use every server and tool. The key
	// itself is hashed as soon as it is read and never kept. "" if unset.
	MasterKeyHash string
	// KeyHeaderName is the request header that carries gateway keys:
	// general_settings.litellm_key_header_name (as in LiteLLM), default
	// x-litellm-api-key. Only this header is read for a gateway key.
	KeyHeaderName string
	// RequireKeyMCPAccessDefined (require_key_mcp_access_defined, as in
	// LiteLLM) makes a team's server list a ceiling only: a key that sets
	// no mcp_servers of its own inherits none of its team's servers.
	RequireKeyMCPAccessDefined bool
}

// GatewaySettings is the `gateway:` block, this gateway's own settings.
type GatewaySettings struct {
	// Port is the port clients connect to. Default 4000 (LiteLLM's).
	Port int
	// MaxRequestBodyBytes bounds a request body; larger requests get 413.
	// Default 1 MiB; must be between 1 byte and 64 MiB.
	MaxRequestBodyBytes int
	// MaxResponseBodyBytes (max_response_body_bytes) bounds an upstream
	// answer the gateway holds whole to rewrite it (a 2026-07-28 client's
	// call to an older upstream, resources/read on a prefixed endpoint);
	// a larger one is replaced by a JSON-RPC error naming the limit.
	// Answers passed through are not bounded. Default 16 MiB; must be
	// between 1 KiB and 1 GiB.
	MaxResponseBodyBytes int
	// RequestTimeout (request_timeout, seconds) bounds receiving one
	// whole request; a client that has not sent all of it by then (a body
	// shorter than its content-length) gets 408. Default 30s; 11 to 3600
	// (above Envoy's 10 s ext_proc message timeout, which it includes).
	RequestTimeout time.Duration
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// SessionSecrets (session_secrets) seal client session ids, so any
	// replica, and a restarted one, accepts sessions another issued. The
	// first secret seals new ids; all of them open ids, so secrets can be
	// rotated. Empty means a random secret per process: sessions then end
	// when the process does. Secrets: never logged.
	SessionSecrets []string
	// SessionTTL (session_ttl, seconds) is how long a client session id
	// stays valid. Default 24h.
	SessionTTL time.Duration
	// UpstreamSessionIdle (upstream_session_idle, seconds) closes an
	// upstream session no call has used for this long; the next call
	// opens a new one. Zero means the default, 1h.
	UpstreamSessionIdle time.Duration
	// AllowedOrigins (allowed_origins) are the browser origins, besides
	// loopback ones, that may call the gateway ("*": any). Requests
	// without an Origin header are not affected (DNS-rebinding guard).
	AllowedOrigins []string
	// BindAddress (bind_address) is the IP address the gateway's listener
	// binds. "" means 0.0.0.0, every IPv4 interface (as LiteLLM; what a
	// container needs); 127.0.0.1 keeps the gateway to this machine.
	BindAddress string
	// AdminAddress (admin_address) is Envoy's admin interface, a loopback
	// IP and port (the interface is unauthenticated). Port 0, and the zero
	// value (127.0.0.1:0), mean a free port picked when Envoy starts, so
	// gateways on one machine never contend for it.
	AdminAddress netip.AddrPort
	// OpsAddress (ops_address) is the gateway's own operations listener:
	// /healthz, /readyz, /metrics and Envoy's statistics at
	// /metrics/envoy (docs/operations.md). Any IP and port; the zero
	// value means 127.0.0.1:0, a free loopback port picked at start (the
	// banner and the log name it). It serves no MCP and no secrets, but
	// keep it off public interfaces: it is unauthenticated.
	OpsAddress netip.AddrPort
	// DrainTimeout (drain_timeout, seconds) bounds how long a stopping
	// gateway waits for calls in flight once Envoy has stopped
	// accepting connections. Default 15s; 0 to 3600.
	DrainTimeout time.Duration
	// DisableFastPath (fast_path: false) has ext_proc decide every
	// request: Envoy decides no call itself (docs/architecture.md, "The
	// fast path").
	DisableFastPath bool
	// MetricsToolLabel (metrics_tool_label) adds the tool name as a label
	// of the request metrics. Off by default: every tool of every server
	// is a time series.
	MetricsToolLabel bool
	// TLSCertFile and TLSKeyFile (tls_cert_file, tls_key_file) are PEM
	// files of the listener's certificate chain and private key, relative
	// to the config file's directory. Set, the listener speaks only TLS;
	// Envoy reads the files again when they are replaced by a rename (as
	// Kubernetes updates a mounted Secret), so new connections get the
	// new certificate. Both or neither.
	TLSCertFile string
	TLSKeyFile  string
	// TLSClientCAFile (tls_client_ca_file) is a PEM bundle of CAs: set,
	// every client must present a certificate signed by one of them
	// (mTLS). Needs TLSCertFile.
	TLSClientCAFile string
	// DiscoveryTTL (discovery_ttl, seconds) is how often each upstream's
	// tools, prompts and resources are listed again when it has not
	// announced a change. Zero means the default, 60s.
	DiscoveryTTL time.Duration
}

// Defaults.
const (
	DefaultToolPrefixSeparator  = "-"
	DefaultClientSideAuthHeader = "x-mcp-auth"
	DefaultPort                 = 4000
	DefaultMaxRequestBodyBytes  = 1 << 20
	MaxMaxRequestBodyBytes      = 64 << 20
	DefaultMaxResponseBodyBytes = 16 << 20
	MinMaxResponseBodyBytes     = 1 << 10
	MaxMaxResponseBodyBytes     = 1 << 30
	DefaultLogLevel             = "info"
	DefaultRequestTimeout       = 30 * time.Second
	DefaultSessionTTL           = 24 * time.Hour
	DefaultDrainTimeout         = 15 * time.Second
)
