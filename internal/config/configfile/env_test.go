package configfile

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestEnvResolution(t *testing.T) {
	src := `mcp_servers:
  github:
    url: os.environ/GITHUB_MCP_URL
    auth_type: bearer_token
    auth_value: os.environ/GITHUB_TOKEN
    static_headers:
      X-Team: os.environ/TEAM
  local:
    transport: stdio
    command: npx
    env:
      API_KEY: os.environ/LOCAL_KEY
      PLAIN: "not os.environ/ at the start"
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
gateway:
  port: os.environ/PORT
model_list:
  - model_name: gpt
    litellm_params:
      api_key: os.environ/UNSET_BUT_IGNORED
`
	env := map[string]string{
		"GITHUB_MCP_URL":     "https://api.githubcopilot.com/mcp",
		"GITHUB_TOKEN":       "ghp_secret",
		"TEAM":               "platform",
		"LOCAL_KEY":          "local-secret",
		"LITELLM_MASTER_KEY": "sk-master",
		"PORT":               "9000",
	}
	cfg := mustParse(t, src, env)
	gh, local := cfg.Servers[0], cfg.Servers[1]
	if gh.URL != env["GITHUB_MCP_URL"] || gh.AuthValue != "ghp_secret" || gh.StaticHeaders["X-Team"] != "platform" {
		t.Errorf("github = %+v", gh)
	}
	if local.Env["API_KEY"] != "local-secret" || local.Env["PLAIN"] != "not os.environ/ at the start" {
		t.Errorf("local.Env = %v", local.Env)
	}
	if sum := sha256.Sum256([]byte("sk-master")); cfg.General.MasterKeyHash != hex.EncodeToString(sum[:]) {
		t.Errorf("master_key not resolved and hashed")
	}
	if cfg.Gateway.Port != 9000 {
		t.Errorf("Port = %d, want 9000 from the environment", cfg.Gateway.Port)
	}
}

func TestEnvMissing(t *testing.T) {
	src := `mcp_servers:
  github:
    url: https://api.githubcopilot.com/mcp
    auth_type: bearer_token
    auth_value: os.environ/GITHUB_TOKEN
    static_headers:
      X-Key: os.environ/
  other:
    url: os.environ/OTHER_URL
`
	ps := problemsOf(t, src, map[string]string{"UNRELATED": "x"})
	findLine(t, ps, "test.yaml:5: mcp_servers.github.auth_value: environment variable GITHUB_TOKEN is not set (referenced as os.environ/GITHUB_TOKEN)")
	findLine(t, ps, "test.yaml:7: mcp_servers.github.static_headers.X-Key: os.environ/ must be followed by an environment variable name")
	findLine(t, ps, "test.yaml:9: mcp_servers.other.url: environment variable OTHER_URL is not set")
	if len(ps) != 3 {
		t.Errorf("got %d problems, want exactly 3 (no follow-on errors):\n%v", len(ps), ps)
	}
}

func TestEnvNilLookupIsEmptyEnvironment(t *testing.T) {
	_, err := Parse([]byte("mcp_servers:\n  a:\n    url: os.environ/URL\n"), "test.yaml", nil)
	if err == nil {
		t.Fatal("want a problem for the unset variable")
	}
}

func TestSecretsNeverInMessages(t *testing.T) {
	const secret = "sk-live-0123456789abcdef"
	tests := []struct {
		name string
		src  string
		env  map[string]string
	}{
		{
			name: "secret with trailing newline from the environment",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    auth_type: bearer_token\n    auth_value: os.environ/TOKEN\n",
			env:  map[string]string{"TOKEN": secret + "\n"},
		},
		{
			name: "secret in a bad URL",
			src:  "mcp_servers:\n  a:\n    url: \"ftp://" + secret + "@x.example/mcp\"\n",
		},
		{
			name: "secret pasted into auth_type",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    auth_type: " + secret + "-plus-more-text-to-be-long\n",
		},
		{
			name: "secret in a header value with a line break",
			src:  "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    static_headers:\n      X-Key: \"" + secret + "\\r\\nX-Evil: 1\"\n",
		},
		{
			name: "secret as a URL from the environment",
			src:  "mcp_servers:\n  a:\n    url: os.environ/URL\n",
			env:  map[string]string{"URL": "https://x.example/" + secret + " with space"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problemsOf(t, tt.src, tt.env)
			assertNoLeak(t, ps, secret)
		})
	}
	// The trailing newline gets a specific hint.
	ps := problemsOf(t, tests[0].src, tests[0].env)
	findLine(t, ps, "test.yaml:5: mcp_servers.a.auth_value: must not end with a line break (a secret file's trailing newline?)")
}

func TestSeparatorSources(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want string
	}{
		{"default", "", nil, "-"},
		{"environment when the file does not set it", "", map[string]string{"MCP_TOOL_PREFIX_SEPARATOR": "__"}, "__"},
		{"empty environment value is unset", "", map[string]string{"MCP_TOOL_PREFIX_SEPARATOR": ""}, "-"},
		{"file wins over environment", "general_settings:\n  mcp_tool_prefix_separator: .\n", map[string]string{"MCP_TOOL_PREFIX_SEPARATOR": "__"}, "."},
		{"file value from os.environ", "general_settings:\n  mcp_tool_prefix_separator: os.environ/SEP\n", map[string]string{"SEP": "_"}, "_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.src, tt.env).General.MCPToolPrefixSeparator; got != tt.want {
				t.Errorf("separator = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientSideAuthHeaderNameSources(t *testing.T) {
	const yamlSet = "general_settings:\n  mcp_client_side_auth_header_name: x-from-file\n"
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want string
	}{
		{"default", "", nil, "x-mcp-auth"},
		{"file", yamlSet, nil, "x-from-file"},
		{"environment wins, as in LiteLLM", yamlSet, map[string]string{"LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME": "authorization"}, "authorization"},
		// LiteLLM: get_secret_str(...) is "" (not None), so the file is
		// not read and `"" or "x-mcp-auth"` is the default.
		{"empty environment is the default, not the file", yamlSet, map[string]string{"LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME": ""}, "x-mcp-auth"},
		{"empty environment without a file setting", "", map[string]string{"LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME": ""}, "x-mcp-auth"},
		{"empty file setting", "general_settings:\n  mcp_client_side_auth_header_name: \"\"\n", nil, "x-mcp-auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.src, tt.env).General.MCPClientSideAuthHeaderName; got != tt.want {
				t.Errorf("header name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidEnvName(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "_x": true, "a1": true,
		"": false, "1A": false, "A-B": false, "A B": false, "A/B": false,
	} {
		if got := validEnvName(name); got != want {
			t.Errorf("validEnvName(%q) = %v, want %v", name, got, want)
		}
	}
}
