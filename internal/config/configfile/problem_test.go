package configfile

import (
	"testing"
)

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
