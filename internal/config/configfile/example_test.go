package configfile_test

import (
	"errors"
	"fmt"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
)

func ExampleParse() {
	src := `mcp_servers:
  github:
    url: https://api.githubcopilot.com/mcp
    auth_type: bearer_token
    auth_value: os.environ/GITHUB_TOKEN
    allowed_tools: [get_issue]
model_list: []
`
	env := func(name string) (string, bool) {
		if name == "GITHUB_TOKEN" {
			return "ghp_example", true
		}
		return "", false
	}
	cfg, err := configfile.Parse([]byte(src), "config.yaml", env)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range gateway.Upstreams(cfg) {
		fmt.Println(u.Alias, u.Cluster, u.URL)
	}
	for _, p := range cfg.Unsupported {
		fmt.Println("warning:", p)
	}
	for _, p := range cfg.Ignored {
		fmt.Println("note:", p)
	}
	// Output:
	// github mcp_upstream_github https://api.githubcopilot.com/mcp
	// note: config.yaml:7: model_list: ignored: not an MCP gateway setting
}

func ExampleProblems() {
	src := `mcp_servers:
  github:
    url: https://api.githubcopilot.com/mcp
    auth_type: foo
    auth_value: os.environ/GITHUB_TOKEN
  my-server:
    urll: https://example.com/mcp
`
	_, err := configfile.Parse([]byte(src), "config.yaml", func(string) (string, bool) { return "", false })
	var probs config.Problems
	if errors.As(err, &probs) {
		fmt.Println(probs.Error())
	}
	// Output:
	// config.yaml:4: mcp_servers.github.auth_type: unknown value "foo" (want one of none, api_key, bearer_token, basic, authorization, token, oauth2, aws_sigv4, oauth2_token_exchange, oauth2_id_jag, true_passthrough, oauth_delegate)
	// config.yaml:5: mcp_servers.github.auth_value: environment variable GITHUB_TOKEN is not set (referenced as os.environ/GITHUB_TOKEN)
	// config.yaml:6: mcp_servers.my-server: alias contains the tool prefix separator "-"; rename it or set general_settings.mcp_tool_prefix_separator
	// config.yaml:7: mcp_servers.my-server.urll: unknown key (did you mean "url"?)
}
