package configfile

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
)

// exampleEnv sets every variable the testdata files reference.
var exampleEnv = map[string]string{
	"CIRCLECI_TOKEN":      "s3cret-circleci",
	"MY_MCP_API_KEY":      "s3cret-api-key",
	"LITELLM_MASTER_KEY":  "sk-s3cret-master",
	"DATABASE_URL":        "postgres://u:s3cret@db/litellm",
	"BEARER_TOKEN":        "s3cret-bearer",
	"GITHUB_TOKEN":        "ghp_s3cret",
	"OAUTH_CLIENT_ID":     "s3cret-client-id",
	"OAUTH_CLIENT_SECRET": "s3cret-client-secret",
}

// TestLiteLLMExamples loads configs shaped like LiteLLM's documentation
// and checks what each server becomes and what is reported.
func TestLiteLLMExamples(t *testing.T) {
	tests := []struct {
		file        string
		aliases     []string
		unsupported []string
		ignored     []string
	}{
		{
			file:    "litellm_overview.yaml",
			aliases: []string{"wiki", "zapier", "circleci_mcp", "my_http_server"},
			ignored: []string{
				"litellm_overview.yaml:4: model_list: ignored",
				"litellm_settings: ignored",
				"mcp_servers.my_http_server.spec_version: ignored",
				"general_settings.alerting: ignored",
				"router_settings: ignored",
				"environment_variables: ignored",
			},
		},
		{
			file: "litellm_auth.yaml",
			aliases: []string{"api_key_example", "bearer_example", "basic_example", "custom_auth_example",
				"github_example", "static_headers_example", "oauth2_example", "agentcore_mcp"},
			unsupported: []string{
				"mcp_servers.agentcore_mcp.auth_type: not supported yet",
			},
			ignored: []string{
				"mcp_servers.oauth2_example.authorization_url: ignored: not used by oauth2_flow client_credentials",
				"mcp_servers.oauth2_example.registration_url: ignored: not used by oauth2_flow client_credentials",
			},
		},
		{
			file:    "litellm_access.yaml",
			aliases: []string{"github_mcp", "zapier_server"},
			unsupported: []string{
				"mcp_servers.github_mcp.mcp_info.mcp_server_cost_info: not supported yet",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", tt.file), envOf(exampleEnv))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var got []string
			for _, s := range cfg.Servers {
				got = append(got, s.Alias)
			}
			if len(got) != len(tt.aliases) {
				t.Fatalf("aliases = %v, want %v", got, tt.aliases)
			}
			for i := range got {
				if got[i] != tt.aliases[i] {
					t.Errorf("alias %d = %q, want %q (file order)", i, got[i], tt.aliases[i])
				}
			}
			for _, w := range tt.unsupported {
				findLine(t, cfg.Unsupported, w)
			}
			for _, w := range tt.ignored {
				findLine(t, cfg.Ignored, w)
			}
			for _, secret := range exampleEnv {
				assertNoLeak(t, cfg.Unsupported, secret)
				assertNoLeak(t, cfg.Ignored, secret)
			}
		})
	}
}

func TestLiteLLMAccessExampleValues(t *testing.T) {
	cfg, err := Load(filepath.Join("testdata", "litellm_access.yaml"), envOf(exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	gh := cfg.Servers[0]
	if got := gh.AllowedParams["list_issues"]; len(got) != 3 || got[2] != "state" {
		t.Errorf("AllowedParams = %v", gh.AllowedParams)
	}
	if gh.MCPInfo.Cost == nil || gh.MCPInfo.Cost.DefaultCostPerQuery != 0.01 || gh.MCPInfo.Cost.ToolNameToCostPerQuery["get_issue"] != 7e-05 {
		t.Errorf("Cost = %+v", gh.MCPInfo.Cost)
	}
	if gh.MCPInfo.ServerName != "GitHub" || gh.MCPInfo.Description != "GitHub issues" {
		t.Errorf("MCPInfo = %+v", gh.MCPInfo)
	}
	if cfg.General.MCPToolPrefixSeparator != "__" {
		t.Errorf("separator = %q", cfg.General.MCPToolPrefixSeparator)
	}
	if !reflect.DeepEqual(cfg.Gateway, config.GatewaySettings{Port: 8080, MaxRequestBodyBytes: 4 << 20, MaxResponseBodyBytes: 16 << 20, RequestTimeout: config.DefaultRequestTimeout, LogLevel: "debug", SessionTTL: config.DefaultSessionTTL, DrainTimeout: config.DefaultDrainTimeout}) {
		t.Errorf("Gateway = %+v", cfg.Gateway)
	}
}

func TestRepoDefaultConfig(t *testing.T) {
	// The config `make run` starts with must always load cleanly, with
	// the master key make run passes.
	cfg, err := Load(filepath.Join("..", "..", "..", "config.yaml"), envOf(map[string]string{"LITELLM_MASTER_KEY": "sk-make-run"}))
	if err != nil {
		t.Fatalf("Load(../../../config.yaml): %v", err)
	}
	if len(cfg.Unsupported) != 0 {
		t.Errorf("config.yaml uses unsupported settings: %v", cfg.Unsupported)
	}
	if !cfg.Store.Enabled || cfg.Store.URL != "" || cfg.General.MasterKeyHash == "" {
		t.Errorf("make run's config must keep its objects in SQLite and have a master key: %+v", cfg.Store)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-file.yaml"), nil)
	if err == nil {
		t.Fatal("want an error")
	}
}
