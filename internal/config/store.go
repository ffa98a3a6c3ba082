package config

import (
	"path/filepath"
	"slices"
)

// StoreSettings say whether servers, keys, teams and organizations are
// also kept in a database, written through the admin API (LiteLLM's
// store_model_in_db).
type StoreSettings struct {
	// Enabled is general_settings.store_model_in_db, or the environment
	// variable STORE_MODEL_IN_DB when it is set (True/true/1 or
	// False/false/0), as in LiteLLM.
	Enabled bool
	// URL is general_settings.database_url, else DATABASE_URL (LiteLLM's
	// order): postgres://… for PostgreSQL. "" means the embedded SQLite
	// file DataDir/mcpgw.db. A secret (it may hold a password): print it
	// only through store.RedactURL.
	URL string
	// Objects is general_settings.supported_db_objects: the kinds loaded
	// from the database. nil means every kind. Only "mcp" concerns this
	// gateway among LiteLLM's values (keys, teams and organizations are
	// always in the database, as in LiteLLM); the others are accepted
	// and reported as having no effect.
	Objects []string
	// DataDir is gateway.data_dir: where the embedded SQLite database
	// lives. Default: the directory .mcpgw beside the config file.
	DataDir string
	// EncryptionKey encrypts server credentials at rest: LITELLM_SALT_KEY
	// (LiteLLM's), else gateway.encryption_key, else derived from
	// general_settings.master_key (as LiteLLM falls back to it; changing
	// the master key then makes stored credentials unreadable). Secret.
	EncryptionKey string
	// StdioCommands are the commands a stdio server written through the
	// admin API may run besides LiteLLM's default list (npx, uvx, python,
	// python3, node, docker, deno): LITELLM_MCP_STDIO_EXTRA_COMMANDS,
	// comma-separated, as in LiteLLM.
	StdioCommands []string
}

// LoadsServers reports whether MCP servers are loaded from the database.
func (s StoreSettings) LoadsServers() bool {
	return s.Enabled && (s.Objects == nil || slices.Contains(s.Objects, "mcp"))
}

// DatabaseURL is the store's URL: URL, or the SQLite file under DataDir.
func (s StoreSettings) DatabaseURL() string {
	if s.URL != "" {
		return s.URL
	}
	return "sqlite:" + filepath.Join(s.DataDir, "mcpgw.db")
}
