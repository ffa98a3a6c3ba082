package configfile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// generalSource remembers where the typed general_settings keys are.
type generalSource struct {
	separator *yaml.Node // mcp_tool_prefix_separator value, if set
	authName  *yaml.Node // mcp_client_side_auth_header_name value, if set
	keyHeader *yaml.Node // litellm_key_header_name value, if set
}

// general reads general_settings. The MCP-relevant keys are typed; the
// MCP-related keys this gateway does not act on go to Unsupported; the
// rest of LiteLLM's keys go to Ignored; anything else is an error.
func (p *parser) general(n *yaml.Node, g *config.GeneralSettings, st *config.StoreSettings, ssrc *storeSource) generalSource {
	const path = "general_settings"
	var src generalSource
	pairs, _ := p.mapping(n, path)
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "mcp_tool_prefix_separator":
			if v, ok := p.str(f.v, fp); ok {
				g.MCPToolPrefixSeparator = v
				src.separator = f.v
			}
		case "mcp_client_side_auth_header_name":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				g.MCPClientSideAuthHeaderName = v
				src.authName = f.v
			}
		case "master_key":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				sum := sha256.Sum256([]byte(v)) // the key itself is not kept
				g.MasterKeyHash = hex.EncodeToString(sum[:])
				ssrc.masterKey = v
			}
		case "litellm_key_header_name":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				g.KeyHeaderName = v
				src.keyHeader = f.v
			}
		case "require_key_mcp_access_defined":
			if v, ok := p.boolean(f.v, fp); ok {
				g.RequireKeyMCPAccessDefined = v
			}
		case "database_url":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				st.URL, ssrc.url = v, f.v
			}
		case "store_model_in_db":
			if v, ok := p.boolean(f.v, fp); ok {
				st.Enabled, ssrc.enabled = v, f.v
			}
		case "supported_db_objects":
			p.supportedDBObjects(f.v, fp, st)
			ssrc.objects = f.v
		default:
			if read, mcp := generalMCPKeys[f.key]; mcp {
				if read(p, f.v, fp) {
					detail := ""
					if generalRestrictions[f.key] {
						detail = notEnforced
					}
					p.notSupported(f.k, fp, detail)
				}
				continue
			}
			if generalLiteLLMKeys[f.key] {
				p.ignore(f.k, fp, "not an MCP gateway setting")
				continue
			}
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, generalKeyNames))
		}
	}
	return src
}

// settingReader type-checks a setting that is accepted but not acted on
// and reports whether it is set to something other than its default.
type settingReader func(p *parser, n *yaml.Node, path string) bool

func anyString(p *parser, n *yaml.Node, path string) bool {
	v, ok := p.str(n, path)
	return ok && v != ""
}

func anyList(p *parser, n *yaml.Node, path string) bool {
	v, ok := p.strList(n, path)
	return ok && len(v) > 0
}

func anyTrue(p *parser, n *yaml.Node, path string) bool {
	v, ok := p.boolean(n, path)
	return ok && v
}

func anyInt(p *parser, n *yaml.Node, path string) bool {
	_, ok := p.integer(n, path)
	return ok
}

func anyMapping(p *parser, n *yaml.Node, path string) bool {
	pairs, ok := p.mapping(n, path)
	return ok && len(pairs) > 0
}

// listOf reads a list whose items the given reader checks.
func listOf(item settingReader) settingReader {
	return func(p *parser, n *yaml.Node, path string) bool {
		d := deref(n)
		if isNull(d) {
			return false
		}
		if d.Kind != yaml.SequenceNode {
			p.errorf(n, path, "must be a list, got %s", kindName(d))
			return false
		}
		for i, it := range d.Content {
			item(p, it, index(path, i))
		}
		return len(d.Content) > 0
	}
}

func oneOf(want ...string) settingReader {
	return func(p *parser, n *yaml.Node, path string) bool {
		_, ok := p.enum(n, path, want)
		return ok
	}
}

// generalMCPKeys are LiteLLM general_settings about MCP or about where
// MCP servers come from (the database), other than the typed ones
// (ConfigGeneralSettings in litellm/proxy/_types.py, and
// docs/my-website/docs/proxy/config_settings.md).
var generalMCPKeys = map[string]settingReader{
	"mcp_internal_ip_ranges":              anyList,
	"mcp_trusted_proxy_ranges":            anyList,
	"mcp_xff_num_trusted_hops":            anyInt,
	"mcp_required_fields":                 anyList,
	"user_mcp_management_mode":            oneOf("restricted", "view_all"),
	"enable_mcp_registry":                 anyTrue,
	"require_end_user_mcp_access_defined": anyTrue,
	// Added in LiteLLM 1.108.7's ConfigGeneralSettings, or read by its MCP
	// code (general_settings.get).
	"mcp_advertised_versions":                listOf(oneOf("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28")),
	"mcp_disabled_capabilities":              listOf(oneOf("prompts", "resources")),
	"mcp_allowed_clients":                    listOf(anyMapping),
	"mcp_require_explicit_server_scope":      anyTrue,
	"mcp_client_id_header":                   anyString,
	"mcp_prefer_client_id_metadata_document": anyTrue,
	"mcp_allow_all_keys_respects_mcp_scope":  anyTrue,
	"mcp_session_token_signing":              anyMapping,
}

// generalRestrictions are the general settings that, in LiteLLM, narrow
// who may reach what: a config relying on them is told loudly that the
// gateway does not narrow.
var generalRestrictions = map[string]bool{
	"mcp_allowed_clients":                   true,
	"mcp_require_explicit_server_scope":     true,
	"mcp_allow_all_keys_respects_mcp_scope": true,
	"require_end_user_mcp_access_defined":   true,
}

// generalKeyNames is every known general_settings key, for hints.
var generalKeyNames = func() []string {
	keys := []string{"mcp_tool_prefix_separator", "mcp_client_side_auth_header_name", "master_key", "litellm_key_header_name", "require_key_mcp_access_defined", "database_url", "store_model_in_db", "supported_db_objects"}
	keys = append(keys, sortedKeys(generalMCPKeys)...)
	return append(keys, sortedKeys(generalLiteLLMKeys)...)
}()

// resolveGeneral fills in the general_settings defaults and environment
// overrides, then checks them.
//
// The tool prefix separator comes from general_settings, else from
// MCP_TOOL_PREFIX_SEPARATOR (LiteLLM's only way to set it), else "-".
// The client-side auth header name comes, as in LiteLLM's
// MCPRequestHandler.get_mcp_client_side_auth_header_name, from
// LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME when it is set (set but empty
// means x-mcp-auth, whatever the file says), else general_settings, else
// x-mcp-auth.
func (p *parser) resolveGeneral(g *config.GeneralSettings, src generalSource) {
	const sepPath = "general_settings.mcp_tool_prefix_separator"
	if src.separator != nil {
		if msg := checkSeparator(g.MCPToolPrefixSeparator); msg != "" {
			p.errorf(src.separator, sepPath, "%s", msg)
		}
	} else if v, ok := p.lookup(envToolPrefixSeparator); ok && v != "" {
		g.MCPToolPrefixSeparator = v
		if msg := checkSeparator(v); msg != "" {
			p.errorf(nil, sepPath, "%s (from environment variable %s)", msg, envToolPrefixSeparator)
		}
	} else {
		g.MCPToolPrefixSeparator = config.DefaultToolPrefixSeparator
	}

	const namePath = "general_settings.mcp_client_side_auth_header_name"
	if v, ok := p.lookup(envClientSideAuthName); ok {
		// Set, even empty, the variable wins over the file; empty means
		// the default (LiteLLM: get_secret_str(...) or x-mcp-auth).
		g.MCPClientSideAuthHeaderName = cmp.Or(v, config.DefaultClientSideAuthHeader)
		if !isToken(g.MCPClientSideAuthHeaderName) {
			p.errorf(nil, namePath, "must be an HTTP header name (from environment variable %s)", envClientSideAuthName)
		}
	} else if g.MCPClientSideAuthHeaderName != "" {
		if !isToken(g.MCPClientSideAuthHeaderName) {
			p.errorf(src.authName, namePath, "must be an HTTP header name")
		}
	} else {
		g.MCPClientSideAuthHeaderName = config.DefaultClientSideAuthHeader
	}

	const keyPath = "general_settings.litellm_key_header_name"
	if g.KeyHeaderName == "" {
		g.KeyHeaderName = config.DefaultKeyHeader
	} else if !isToken(g.KeyHeaderName) {
		p.errorf(src.keyHeader, keyPath, "must be an HTTP header name")
	}
	g.KeyHeaderName = strings.ToLower(g.KeyHeaderName)
}

// checkSeparator returns why sep cannot join alias and tool names, or "".
// Names must stay within MCP's tool-name characters (SEP-986: letters,
// digits, _, - and .); LiteLLM warns about other separators.
func checkSeparator(sep string) string {
	if sep == "" {
		return "must not be empty"
	}
	if len(sep) > 8 {
		return "must be at most 8 characters"
	}
	if strings.Trim(sep, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.") != "" {
		return fmt.Sprintf("%q has characters MCP tool names cannot contain (use letters, digits, _, - or .)", sep)
	}
	return ""
}
