package config

import "time"

// AccessSettings is the `access:` block: the gateway keys, teams and
// organizations of the embedded (static) deployment and how requests are
// authorized. LiteLLM keeps keys, teams and organizations in its database
// (LiteLLM_VerificationToken, LiteLLM_TeamTable, LiteLLM_OrganizationTable);
// each entry here takes the fields of those tables that concern MCP, with
// the same names. See docs/access-control.md for the semantics.
type AccessSettings struct {
	// Keys (keys) are the gateway keys, in file order.
	Keys []Key
	// Teams (teams) and Organizations (organizations), in file order.
	Teams         []Team
	Organizations []Organization
	// AllServersByDefault (all_servers_by_default) lets a key whose key
	// and team set no MCP server permission use every server (still under
	// its organization's ceiling). Default false: such a key sees nothing
	// but allow_all_keys servers.
	AllServersByDefault bool
	// KeyFromAuthorization (key_from_authorization, this gateway's own)
	// also reads a gateway key from Authorization ("Bearer <key>") when
	// the key header is absent, as LiteLLM does. Default false: one
	// header would otherwise mean two things (docs/access-control.md).
	// A request whose key came in Authorization sends the client no
	// Authorization of its own upstream. Takes a restart.
	KeyFromAuthorization bool
	// PolicyDir (policy_dir) is a directory of extra .rego files, loaded
	// with the shipped policy; relative paths are relative to the config
	// file. "" means none.
	PolicyDir string
	// InputHeaders (input_headers) are the request headers the policy sees
	// in input.headers, lower-case. Credential headers are refused.
	// Default: user-agent and mcp-protocol-version.
	InputHeaders []string
	// DecisionLog (decision_log) is where one JSON line per decision goes.
	DecisionLog DecisionLogSettings
}

// DecisionLogSettings is access.decision_log.
type DecisionLogSettings struct {
	// Output (output) is "stderr" (default), "stdout", "off" or a file path
	// (appended to; relative paths are relative to the config file).
	Output string
	// ArgumentValues (argument_values) logs tool argument values. Default
	// false: only argument names are logged, values are redacted.
	ArgumentValues bool
}

// Key is one access.keys entry.
type Key struct {
	// Alias (key_alias) names the key in logs and policy input. Defaults to
	// "sha256:" and the first 12 hex digits of the key's digest.
	Alias string
	// Token is the key's SHA-256 digest in lower-case hex, from `key` (the
	// key itself, hashed as soon as it is read and never kept) or `token`
	// (the digest, as LiteLLM stores it).
	Token string
	// TeamID (team_id) is the key's team; "" for none.
	TeamID string
	// Blocked (blocked) revokes the key: requests with it get 401.
	Blocked bool
	// Expires (expires, RFC 3339 or YYYY-MM-DD) ends the key; zero: never.
	Expires time.Time
	// Permission is the key's object_permission.
	Permission ObjectPermission
	// Line is the line of the entry.
	Line int
}

// Team is one access.teams entry.
type Team struct {
	ID             string // team_id (required, unique)
	Alias          string // team_alias
	OrganizationID string // organization_id; "" for none
	// Blocked (blocked) revokes every key of the team.
	Blocked    bool
	Permission ObjectPermission // object_permission
	Line       int
}

// Organization is one access.organizations entry.
type Organization struct {
	ID         string           // organization_id (required, unique)
	Alias      string           // organization_alias
	Permission ObjectPermission // object_permission: a ceiling for its teams' keys
	Line       int
}

// ObjectPermission is LiteLLM's object_permission: what a key, team or
// organization may use. A nil list or map means the level sets nothing;
// an empty list is set, to nothing.
type ObjectPermission struct {
	// MCPServers (mcp_servers) are server names or aliases.
	MCPServers []string
	// MCPAccessGroups (mcp_access_groups) name access groups (the
	// access_groups of servers).
	MCPAccessGroups []string
	// MCPToolPermissions (mcp_tool_permissions) maps a server name or
	// alias to the only tools (bare or prefixed names) usable on it.
	MCPToolPermissions map[string][]string
	// MCPDisallowedTools (mcp_disallowed_tools, this gateway's own) maps a
	// server name or alias to tools that may not be used on it.
	MCPDisallowedTools map[string][]string
}

// Set reports whether the permission restricts servers at its level.
func (o ObjectPermission) Set() bool { return o.MCPServers != nil || o.MCPAccessGroups != nil }

// DefaultDecisionLog is where decisions are logged by default.
const DefaultDecisionLog = "stderr"

// DefaultKeyHeader carries the gateway key unless
// general_settings.litellm_key_header_name names another header.
const DefaultKeyHeader = "x-litellm-api-key"
