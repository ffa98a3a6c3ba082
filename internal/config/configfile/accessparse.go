package configfile

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

var accessKeyNames = []string{"all_servers_by_default", "decision_log", "input_headers", "key_from_authorization", "keys", "organizations", "policy_dir", "teams"}

// accessRef is a name in the access block that must name a server, an
// access group, a team or an organization; checked once all are read.
type accessRef struct {
	n    *yaml.Node
	path string
	kind string // "server", "group", "team", "organization"
	name string
}

// accessSource remembers what the access block refers to.
type accessSource struct {
	refs    []accessRef
	headers *yaml.Node // input_headers value
	log     *yaml.Node // decision_log.output value
	keyAuth *yaml.Node // key_from_authorization key, when true
}

// access reads the `access:` block into a.
func (p *parser) access(n *yaml.Node, a *config.AccessSettings) *accessSource {
	const path = "access"
	src := &accessSource{}
	pairs, _ := p.mapping(n, path)
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "keys":
			p.eachEntry(f.v, fp, func(e *yaml.Node, ep string) { p.accessKey(e, ep, a, src) })
		case "teams":
			p.eachEntry(f.v, fp, func(e *yaml.Node, ep string) { p.accessTeam(e, ep, a, src) })
		case "organizations":
			p.eachEntry(f.v, fp, func(e *yaml.Node, ep string) { p.accessOrg(e, ep, a, src) })
		case "all_servers_by_default":
			if v, ok := p.boolean(f.v, fp); ok {
				a.AllServersByDefault = v
			}
		case "key_from_authorization":
			if v, ok := p.boolean(f.v, fp); ok && v {
				a.KeyFromAuthorization = true
				src.keyAuth = f.k
			}
		case "policy_dir":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				a.PolicyDir = p.relative(v)
			}
		case "input_headers":
			if v, ok := p.strList(f.v, fp); ok {
				a.InputHeaders = v
				src.headers = f.v
			}
		case "decision_log":
			p.decisionLog(f.v, fp, &a.DecisionLog, src)
		default:
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, accessKeyNames))
		}
	}
	return src
}

// relative resolves a path from the config file's directory.
func (p *parser) relative(v string) string {
	if filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(filepath.Dir(p.file), v)
}

// eachEntry calls f for every mapping in the list n.
func (p *parser) eachEntry(n *yaml.Node, path string, f func(e *yaml.Node, path string)) {
	d := deref(n)
	if isNull(d) {
		return
	}
	if d.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list, got %s", kindName(d))
		return
	}
	if !p.spend(d, len(d.Content)) {
		return
	}
	for i, e := range d.Content {
		ip := index(path, i)
		if ed := deref(e); ed == nil || ed.Kind != yaml.MappingNode {
			p.errorf(e, ip, "must be a mapping, got %s", kindName(ed))
			continue
		}
		f(e, ip)
	}
}

func (p *parser) decisionLog(n *yaml.Node, path string, d *config.DecisionLogSettings, src *accessSource) {
	pairs, _ := p.mapping(n, path)
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "output":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				switch v {
				case "stderr", "stdout", "off":
					d.Output = v
				default:
					d.Output = p.relative(v)
				}
				src.log = f.v
			}
		case "argument_values":
			if v, ok := p.boolean(f.v, fp); ok {
				d.ArgumentValues = v
			}
		default:
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, []string{"argument_values", "output"}))
		}
	}
}

// liteLLMKeyFields are LiteLLM key, team and organization fields that are
// not about MCP: accepted and noted as ignored.
var liteLLMKeyFields = setOf("models", "max_budget", "budget_duration", "tpm_limit", "rpm_limit",
	"max_parallel_requests", "metadata", "user_id", "duration", "spend", "tags", "aliases",
	"permissions", "guardrails", "model_max_budget", "members", "members_with_roles", "admins",
	// More of LiteLLM's /key/generate, /team/new and /organization/new
	// fields, which admin-API clients send.
	"soft_budget", "config", "allowed_cache_controls", "model_rpm_limit", "model_tpm_limit",
	"enforced_params", "allowed_routes", "send_invite_email", "key_type", "budget_id",
	"model_aliases", "team_member_permissions", "team_member_budget", "team_member_key_duration",
	"user_email", "prompts", "auto_rotate", "rotation_interval", "allowed_passthrough_routes",
	// LiteLLM_VerificationToken's display form of a key ("sk-...abcd").
	"key_name",
	// Budget, routing and guardrail fields of LiteLLM's GenerateKeyRequest,
	// UpdateKeyRequest, NewTeamRequest and UpdateTeamRequest (_types.py,
	// late 2026); /key/update's temp_budget_* are in its documentation.
	"temp_budget_increase", "temp_budget_expiry", "budget_limits", "budget_fallbacks",
	"tag_rpm_limit", "policies", "default_estimated_output_tokens",
	"default_estimated_output_tokens_per_model", "disable_global_guardrails",
	"enable_prompt_caching", "throttle_on_budget_exceeded", "allowed_vector_store_indexes",
	"rpm_limit_type", "tpm_limit_type", "router_settings", "secret_manager_settings",
	"team_member_rpm_limit", "team_member_tpm_limit", "team_member_budget_duration",
	"default_team_member_models", "enforced_batch_output_expires_after", "enforced_file_expires_after")

var keyFieldNames = []string{"blocked", "expires", "key", "key_alias", "mcp_rpm_limit", "object_permission", "team_id", "token"}

func (p *parser) accessKey(e *yaml.Node, path string, a *config.AccessSettings, src *accessSource) {
	k := config.Key{Line: e.Line}
	pairs, _ := p.mapping(e, path)
	var keyNode, tokenNode *yaml.Node
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "key_alias":
			if v, ok := p.str(f.v, fp); ok {
				k.Alias = v
			}
		case "key":
			// The key itself: hashed here, never stored or echoed.
			if v, ok := p.str(f.v, fp); ok {
				keyNode = f.k
				if v == "" {
					p.errorf(f.k, fp, "must not be empty")
					continue
				}
				sum := sha256.Sum256([]byte(v))
				k.Token = hex.EncodeToString(sum[:])
			}
		case "token":
			if v, ok := p.str(f.v, fp); ok {
				tokenNode = f.k
				t := strings.ToLower(strings.TrimPrefix(v, "sha256:"))
				if b, err := hex.DecodeString(t); err != nil || len(b) != sha256.Size {
					p.errorf(f.k, fp, "must be the key's SHA-256 as 64 hex digits (as LiteLLM stores it), optionally prefixed sha256:")
					continue
				}
				k.Token = t
			}
		case "team_id":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				k.TeamID = v
				src.refs = append(src.refs, accessRef{f.v, fp, "team", v})
			}
		case "blocked":
			if v, ok := p.boolean(f.v, fp); ok {
				k.Blocked = v
			}
		case "expires":
			if v, ok := p.str(f.v, fp); ok {
				t, err := parseExpiry(v)
				if err != nil {
					p.errorf(f.v, fp, "must be a time (RFC 3339, e.g. 2027-01-31T00:00:00Z) or a date (2027-01-31)")
					continue
				}
				k.Expires = t
			}
		case "object_permission":
			k.Permission = p.objectPermission(f.v, fp, src)
		case "mcp_rpm_limit":
			p.mcpRPMLimit(f, fp)
		default:
			p.otherEntryKey(f, fp, keyFieldNames)
		}
	}
	switch {
	case keyNode != nil && tokenNode != nil:
		p.errorf(tokenNode, join(path, "token"), "set key or token, not both")
	case keyNode == nil && tokenNode == nil:
		p.errorf(e, path, "needs key (the key, e.g. os.environ/NAME) or token (its SHA-256)")
	}
	if k.Alias == "" && k.Token != "" {
		k.Alias = "sha256:" + k.Token[:12]
	}
	a.Keys = append(a.Keys, k)
}

var teamFieldNames = []string{"blocked", "mcp_rpm_limit", "object_permission", "organization_id", "team_alias", "team_id"}

func (p *parser) accessTeam(e *yaml.Node, path string, a *config.AccessSettings, src *accessSource) {
	t := config.Team{Line: e.Line}
	pairs, _ := p.mapping(e, path)
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "team_id":
			if v, ok := p.str(f.v, fp); ok {
				t.ID = v
			}
		case "team_alias":
			if v, ok := p.str(f.v, fp); ok {
				t.Alias = v
			}
		case "organization_id":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				t.OrganizationID = v
				src.refs = append(src.refs, accessRef{f.v, fp, "organization", v})
			}
		case "blocked":
			if v, ok := p.boolean(f.v, fp); ok {
				t.Blocked = v
			}
		case "object_permission":
			t.Permission = p.objectPermission(f.v, fp, src)
		case "mcp_rpm_limit":
			p.mcpRPMLimit(f, fp)
		default:
			p.otherEntryKey(f, fp, teamFieldNames)
		}
	}
	if t.ID == "" {
		p.errorf(e, path, "needs a team_id")
	}
	a.Teams = append(a.Teams, t)
}

var orgFieldNames = []string{"object_permission", "organization_alias", "organization_id"}

func (p *parser) accessOrg(e *yaml.Node, path string, a *config.AccessSettings, src *accessSource) {
	o := config.Organization{Line: e.Line}
	pairs, _ := p.mapping(e, path)
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "organization_id":
			if v, ok := p.str(f.v, fp); ok {
				o.ID = v
			}
		case "organization_alias":
			if v, ok := p.str(f.v, fp); ok {
				o.Alias = v
			}
		case "object_permission":
			o.Permission = p.objectPermission(f.v, fp, src)
		default:
			p.otherEntryKey(f, fp, orgFieldNames)
		}
	}
	if o.ID == "" {
		p.errorf(e, path, "needs an organization_id")
	}
	a.Organizations = append(a.Organizations, o)
}

// mcpRPMLimit reads LiteLLM's mcp_rpm_limit (tool calls per minute, per
// MCP server name) on a key or team: type-checked and reported as not
// supported, since tool calls are not rate-limited per key or team here.
func (p *parser) mcpRPMLimit(f pair, path string) {
	if isNull(deref(f.v)) {
		return
	}
	pairs, ok := p.mapping(f.v, path)
	if !ok {
		return
	}
	for _, pr := range pairs {
		kp := join(path, pr.key)
		if isNull(deref(pr.v)) {
			p.errorf(pr.v, kp, "must be an integer, got null")
			continue
		}
		if n, ok := p.integer(pr.v, kp); ok && n < 0 {
			p.errorf(pr.v, kp, "must not be negative")
		}
	}
	p.notSupported(f.k, path, "tool calls are not rate-limited per key or team")
}

// otherEntryKey reports a key/team/organization field this gateway does
// not read: LiteLLM's non-MCP fields are noted, anything else is an error.
func (p *parser) otherEntryKey(f pair, path string, known []string) {
	if liteLLMKeyFields[f.key] {
		p.ignore(f.k, path, "not an MCP setting")
		return
	}
	p.errorf(f.k, path, "unknown key%s", suggest(f.key, known))
}

var objectPermissionNames = []string{"mcp_access_groups", "mcp_disallowed_tools", "mcp_servers", "mcp_tool_permissions"}

// liteLLMObjectPermissions are LiteLLM object_permission fields that are
// not about MCP servers.
var liteLLMObjectPermissions = setOf("vector_stores", "agents", "agent_access_groups", "search_tools", "mcp_toolsets",
	"models", "skills")

func (p *parser) objectPermission(n *yaml.Node, path string, src *accessSource) config.ObjectPermission {
	var o config.ObjectPermission
	pairs, _ := p.mapping(n, path)
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "mcp_servers":
			if v, ok := p.strList(f.v, fp); ok {
				o.MCPServers = v
				for i, s := range v {
					src.refs = append(src.refs, accessRef{f.v, index(fp, i), "server", s})
				}
			}
		case "mcp_access_groups":
			if v, ok := p.strList(f.v, fp); ok {
				o.MCPAccessGroups = v
				for i, g := range v {
					src.refs = append(src.refs, accessRef{f.v, index(fp, i), "group", g})
				}
			}
		case "mcp_tool_permissions", "mcp_disallowed_tools":
			v, ok := p.strListMap(f.v, fp)
			if !ok {
				continue
			}
			for _, server := range sortedKeys(v) {
				src.refs = append(src.refs, accessRef{keyNode(f.v, server), join(fp, server), "server", server})
				if v[server] == nil {
					v[server] = []string{}
				}
			}
			if f.key == "mcp_tool_permissions" {
				o.MCPToolPermissions = v
			} else {
				o.MCPDisallowedTools = v
			}
		case "mcp_tool_search_enabled":
			// LiteLLM then lists search meta-tools instead of the tools;
			// here the key lists and calls its tools as usual, which
			// grants nothing more.
			if on, ok := p.boolean(f.v, fp); ok && on {
				p.notSupported(f.k, fp, "tools are listed as usual")
			}
		case "blocked_tools":
			// A deny list that is not acted on would grant what it
			// means to refuse: refused, pointing at this gateway's own.
			// An empty one (LiteLLM's answers carry []) denies nothing.
			if v, ok := p.strList(f.v, fp); ok && len(v) > 0 {
				p.errorf(f.k, fp, "is not supported: list the tools to refuse per server in mcp_disallowed_tools ({\"server\": [\"tool\"]})")
			}
		default:
			if liteLLMObjectPermissions[f.key] {
				p.ignore(f.k, fp, "not an MCP server permission")
				continue
			}
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, objectPermissionNames))
		}
	}
	return o
}

func parseExpiry(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}
