package configfile

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

// Environment variables LiteLLM reads for its database.
const (
	envStoreModelInDB = "STORE_MODEL_IN_DB"
	envDatabaseURL    = "DATABASE_URL"
	envSaltKey        = "LITELLM_SALT_KEY"
	envStdioCommands  = "LITELLM_MCP_STDIO_EXTRA_COMMANDS"
)

// dbObjects are LiteLLM's supported_db_objects values
// (SupportedDBObjectType); only "mcp" concerns an MCP gateway.
var dbObjects = []string{"models", "mcp", "guardrails", "policies", "vector_stores", "pass_through_endpoints", "prompts", "model_cost_map", "tools", "config_overrides"}

// storeSource remembers the store settings' nodes for messages.
type storeSource struct {
	enabled, url, objects *yaml.Node
	masterKey             string // general_settings.master_key, to derive a key from; never kept
}

// supportedDBObjects reads general_settings.supported_db_objects.
func (p *parser) supportedDBObjects(n *yaml.Node, path string, s *config.StoreSettings) {
	v, ok := p.strList(n, path)
	if !ok {
		return
	}
	s.Objects = []string{}
	for i, o := range v {
		if !slices.Contains(dbObjects, o) {
			p.errorf(n, index(path, i), "unknown object type %q%s", o, suggest(o, dbObjects))
			continue
		}
		if o != "mcp" {
			p.ignore(n, index(path, i), "no "+o+" in an MCP gateway")
		}
		s.Objects = append(s.Objects, o)
	}
}

// resolveStore applies the environment and defaults to the store
// settings once the whole file is read.
func (p *parser) resolveStore(cfg *config.Config, src storeSource) {
	s := &cfg.Store
	if v, ok := p.lookup(envStoreModelInDB); ok && v != "" {
		switch strings.ToLower(v) {
		case "true", "1", "yes":
			s.Enabled = true
		case "false", "0", "no":
			s.Enabled = false
		default:
			p.errorf(nil, "general_settings.store_model_in_db", "environment variable %s must be True or False", envStoreModelInDB)
		}
	}
	if s.URL == "" {
		if v, ok := p.lookup(envDatabaseURL); ok {
			s.URL = v
		}
	}
	if s.URL != "" && !strings.HasPrefix(s.URL, "postgres://") && !strings.HasPrefix(s.URL, "postgresql://") &&
		!strings.HasPrefix(s.URL, "sqlite:") && !strings.HasPrefix(s.URL, "file:") {
		p.errorf(src.url, "general_settings.database_url", "must be a postgres:// or postgresql:// URL, or sqlite:<path> (got scheme %q)", schemeOf(s.URL))
	}
	if v, ok := p.lookup(envStdioCommands); ok {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				s.StdioCommands = append(s.StdioCommands, c)
			}
		}
	}
	if v, ok := p.lookup(envSaltKey); ok && v != "" {
		s.EncryptionKey = v
	}
	if s.EncryptionKey == "" && src.masterKey != "" {
		sum := sha256.Sum256([]byte("mcpgw store encryption key\x00" + src.masterKey))
		s.EncryptionKey = hex.EncodeToString(sum[:])
	}
	if s.DataDir == "" {
		s.DataDir = p.relative(".mcpgw")
	}
}

// schemeOf returns a URL's scheme (before "://" or ":"), never the rest,
// which may hold a password.
func schemeOf(u string) string {
	if i := strings.Index(u, ":"); i >= 0 && i < 32 {
		return u[:i]
	}
	return "(none)"
}
