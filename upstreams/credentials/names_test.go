package credentials

import "testing"

func TestAliasesParse(t *testing.T) {
	a, err := NewAliases([]string{"github", "zapier", "git", "git-hub", "My_Server", "a"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, alias, header string
		ok                  bool
	}{
		{"x-mcp-github-authorization", "github", "authorization", true},
		{"X-MCP-GitHub-Authorization", "github", "authorization", true},
		{"x-mcp-zapier-x-api-key", "zapier", "x-api-key", true},
		{"x-mcp-git-hub-authorization", "git-hub", "authorization", true}, // longest alias wins
		{"x-mcp-git-x-token", "git", "x-token", true},
		{"x-mcp-my_server-x-key", "My_Server", "x-key", true}, // case-insensitive, '_' works
		{"x-mcp-a-b", "a", "b", true},
		{"x-mcp-servers", "", "", false},
		{"x-mcp-access-groups", "", "", false},
		{"x-mcp-auth", "", "", false},                  // the legacy header names no server
		{"x-mcp-unknown-authorization", "", "", false}, // no such server
		{"x-mcp-github-", "", "", false},               // no header after the alias
		{"x-mcp-github", "", "", false},
		{"x-mcp-", "", "", false},
		{"x-mcp--authorization", "", "", false},
		{"authorization", "", "", false},
		{"x-mcpgithub-authorization", "", "", false},
		{"x-mcp-github-bad header", "", "", false}, // not a header name
		{"x-mcp-git-hub-", "", "", false},          // longest alias, then nothing: no fallback to "git"
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alias, header, ok := a.Parse(tt.name)
			if alias != tt.alias || header != tt.header || ok != tt.ok {
				t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q, %v", tt.name, alias, header, ok, tt.alias, tt.header, tt.ok)
			}
		})
	}
}

func TestNewAliasesRefusesCaseTwins(t *testing.T) {
	if _, err := NewAliases([]string{"GitHub", "github"}); err == nil {
		t.Fatal("aliases differing only in case were accepted")
	}
	if _, err := NewAliases([]string{""}); err == nil {
		t.Fatal("an empty alias was accepted")
	}
}

func TestReserved(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization": false, "X-API-Key": false, "x-tenant": false, "Cookie": false,
		"Host": true, "content-length": true, "Content-Type": true, "accept": true,
		"connection": true, "transfer-encoding": true, "te": true, "upgrade": true,
		"mcp-session-id": true, "Mcp-Protocol-Version": true, "mcp-param-x": true,
		"x-mcp-cluster": true, "x-mcp-anything": true, "x-envoy-original-path": true,
		"x-forwarded-for": true, "x-request-id": true, ":path": true, "bad name": true, "": true,
	} {
		if got := Reserved(name); got != want {
			t.Errorf("Reserved(%q) = %v, want %v", name, got, want)
		}
	}
}
