package config

import (
	"errors"
	"fmt"
	"testing"
)

func TestProblemsErrorFormat(t *testing.T) {
	ps := Problems{
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
	var target Problems
	if !errors.As(fmt.Errorf("load: %w", ps), &target) || len(target) != 3 {
		t.Errorf("errors.As through wrapping: got %v", target)
	}
}
