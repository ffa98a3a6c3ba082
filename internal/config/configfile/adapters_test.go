package configfile

import (
	"strings"
	"testing"
)

func TestAdaptedErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"bad session mode", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    session_mode: per_user\n",
			`mcp_servers.a.session_mode: unknown value "per_user" (want one of shared, per_session)`},
		{"bad startup", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    startup: now\n",
			`mcp_servers.a.startup: unknown value "now" (want one of lazy, eager)`},
		{"idle timeout", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    idle_timeout: -1\n",
			`mcp_servers.a.idle_timeout: must be between 0 and 604800 seconds`},
		{"process cap", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    max_processes: 0\n",
			`mcp_servers.a.max_processes: must be between 1 and 4096`},
		{"spec url", "mcp_servers:\n  a:\n    spec_path: ftp://x/spec.json\n",
			`mcp_servers.a.spec_path: must be an absolute http:// or https:// URL`},
		{"spec with stdio", "mcp_servers:\n  a:\n    transport: stdio\n    command: x\n    spec_path: s.json\n",
			`mcp_servers.a.spec_path: cannot be combined with transport stdio`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "test.yaml", nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

// The stdio supervision keys mean nothing to other servers: noted, as the
// other stdio keys are.
func TestStdioKeysOnHTTPServer(t *testing.T) {
	cfg := mustParse(t, "mcp_servers:\n  a:\n    url: https://x.example/mcp\n    session_mode: per_session\n", nil)
	findLine(t, cfg.Ignored, "mcp_servers.a.session_mode: ignored: only used with transport stdio")
}
