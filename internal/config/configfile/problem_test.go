package configfile

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config"
)

func TestProblemsErrorFormat(t *testing.T) {
	ps := config.Problems{
		{File: "config.yaml", Line: 12, Path: "mcp_servers.github.auth_type", Message: `unknown value "foo" (want one of none, api_key)`},
		{File: "config.yaml", Line: 3, Message: "invalid YAML: did not find expected key"},
		{File: "config.yaml", Path: "general_settings.mcp_tool_prefix_separator", Message: "must not be empty"},
	}
	want := `config.yaml:12: mcp_servers.github.auth_type: unknown value "foo" (want one of none, api_key)
config.yaml:3: invalid YAML: did not find expected key
config.yaml: general_settings.mcp_tool_prefix_separator: must not be empty`
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	//lint:ignore S1025 the test checks what the %s verb prints
	if got := fmt.Sprintf("%s", ps[0]); got != ps[0].String() {
		t.Errorf("%%s of a Problem = %q, want its String()", got)
	}
	var target config.Problems
	if !errors.As(fmt.Errorf("load: %w", ps), &target) || len(target) != 3 {
		t.Errorf("errors.As through wrapping: got %v", target)
	}
}

func TestParseReportsEveryProblemInFileOrder(t *testing.T) {
	src := `mcp_servers:
  a:
    url: "ftp://x"
  b:
    transport: carrier_pigeon
gateway:
  port: 0
  log_lvl: info
`
	ps := problemsOf(t, src, nil)
	want := []string{
		`test.yaml:3: mcp_servers.a.url: must be an absolute http:// or https:// URL`,
		`test.yaml:5: mcp_servers.b.transport: unknown value "carrier_pigeon" (want one of http, sse, stdio)`,
		`test.yaml:7: gateway.port: must be between 1 and 65535`,
		`test.yaml:8: gateway.log_lvl: unknown key (did you mean "log_level"?)`,
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
	}
	for i, w := range want {
		if ps[i].String() != w {
			t.Errorf("problem %d = %q, want %q", i, ps[i].String(), w)
		}
	}
}
