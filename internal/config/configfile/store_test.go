package configfile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestStoreSettings(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		env      map[string]string
		enabled  bool
		url      string // DatabaseURL()
		servers  bool   // LoadsServers()
		objects  []string
		keyIsSet bool
	}{
		{name: "off by default", src: "", url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "store_model_in_db", src: "general_settings:\n  store_model_in_db: true\n", enabled: true, servers: true, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "env switches it on", env: map[string]string{"STORE_MODEL_IN_DB": "True"}, enabled: true, servers: true, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "env wins over the file", src: "general_settings:\n  store_model_in_db: true\n", env: map[string]string{"STORE_MODEL_IN_DB": "False"}, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "database_url", src: "general_settings:\n  database_url: postgres://u:pw@db:5432/x\n", url: "postgres://u:pw@db:5432/x"},
		{name: "DATABASE_URL", env: map[string]string{"DATABASE_URL": "postgresql://db/x"}, url: "postgresql://db/x"},
		{name: "the file wins over DATABASE_URL", src: "general_settings:\n  database_url: postgres://a/x\n", env: map[string]string{"DATABASE_URL": "postgres://b/x"}, url: "postgres://a/x"},
		{name: "data_dir", src: "gateway:\n  data_dir: /var/lib/mcpgw\n", url: "sqlite:/var/lib/mcpgw/mcpgw.db"},
		{name: "mcp objects", src: "general_settings:\n  store_model_in_db: true\n  supported_db_objects: [mcp, models]\n", enabled: true, servers: true, objects: []string{"mcp", "models"}, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "no mcp objects", src: "general_settings:\n  store_model_in_db: true\n  supported_db_objects: [models]\n", enabled: true, objects: []string{"models"}, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "salt key", env: map[string]string{"LITELLM_SALT_KEY": "s"}, keyIsSet: true, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "encryption_key", src: "gateway:\n  encryption_key: 0123456789abcdef\n", keyIsSet: true, url: "sqlite:.mcpgw/mcpgw.db"},
		{name: "from the master key", src: "general_settings:\n  master_key: sk-1234\n", keyIsSet: true, url: "sqlite:.mcpgw/mcpgw.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.src, tt.env)
			s := cfg.Store
			if s.Enabled != tt.enabled || s.LoadsServers() != tt.servers {
				t.Errorf("Enabled, LoadsServers = %v, %v; want %v, %v", s.Enabled, s.LoadsServers(), tt.enabled, tt.servers)
			}
			if got := s.DatabaseURL(); got != tt.url {
				t.Errorf("DatabaseURL = %q, want %q", got, tt.url)
			}
			if !reflect.DeepEqual(s.Objects, tt.objects) {
				t.Errorf("Objects = %q, want %q", s.Objects, tt.objects)
			}
			if (s.EncryptionKey != "") != tt.keyIsSet {
				t.Errorf("EncryptionKey set = %v, want %v", s.EncryptionKey != "", tt.keyIsSet)
			}
		})
	}
}

func TestStoreSettingsPrecedence(t *testing.T) {
	cfg := mustParse(t, "gateway:\n  encryption_key: from-the-file-0123\ngeneral_settings:\n  master_key: sk-1\n", map[string]string{"LITELLM_SALT_KEY": "from-the-env"})
	if cfg.Store.EncryptionKey != "from-the-env" {
		t.Errorf("LITELLM_SALT_KEY does not win: %q", cfg.Store.EncryptionKey)
	}
	cfg = mustParse(t, "gateway:\n  encryption_key: from-the-file-0123\ngeneral_settings:\n  master_key: sk-1\n", nil)
	if cfg.Store.EncryptionKey != "from-the-file-0123" {
		t.Errorf("gateway.encryption_key does not win over the master key: %q", cfg.Store.EncryptionKey)
	}
	a := mustParse(t, "general_settings:\n  master_key: sk-1\n", nil).Store.EncryptionKey
	if a == "" || a == mustParse(t, "general_settings:\n  master_key: sk-1\n", nil).General.MasterKeyHash {
		t.Errorf("the key derived from the master key must differ from its digest (which authenticates): %q", a)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("gateway:\n  data_dir: state\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(cfg.Path), "state"); cfg.Store.DataDir != want {
		t.Errorf("data_dir is not relative to the config file: %q, want %q", cfg.Store.DataDir, want)
	}
}

func TestStoreSettingsProblems(t *testing.T) {
	tests := []struct {
		name, src string
		env       map[string]string
		want      string
	}{
		{"bad scheme", "general_settings:\n  database_url: mysql://u:secretpw@h/x\n", nil, `test.yaml:2: general_settings.database_url: must be a postgres:// or postgresql:// URL, or sqlite:<path> (got scheme "mysql")`},
		{"bad env value", "", map[string]string{"STORE_MODEL_IN_DB": "maybe"}, "general_settings.store_model_in_db: environment variable STORE_MODEL_IN_DB must be True or False"},
		{"unknown object", "general_settings:\n  supported_db_objects: [mpc]\n", nil, `general_settings.supported_db_objects[0]: unknown object type "mpc" (did you mean "mcp"?)`},
		{"short key", "gateway:\n  encryption_key: short\n", nil, "gateway.encryption_key: must be at least 16 bytes"},
		{"not a bool", "general_settings:\n  store_model_in_db: sometimes\n", nil, "general_settings.store_model_in_db:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problemsOf(t, tt.src, tt.env)
			findLine(t, ps, tt.want)
			assertNoLeak(t, ps, "secretpw")
		})
	}
}
