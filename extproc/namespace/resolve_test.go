package namespace

import "testing"

func TestResolveName(t *testing.T) {
	reg := uriRegistry(t)
	all := Scope{Servers: []string{"ev", "my-server"}, Prefixed: true}
	single := Scope{Servers: []string{"ev"}, Single: "ev"}
	for _, tt := range []struct {
		scope       Scope
		in          string
		alias, name string
		ok          bool
	}{
		{all, "ev-test_simple_prompt", "ev", "test_simple_prompt", true},
		{all, "my-server-get-sum", "my-server", "get-sum", true},
		{all, "fs-x", "", "", false}, // configured, not in scope
		{all, "plain", "", "", false},
		{single, "test_simple_prompt", "ev", "test_simple_prompt", true},
		{single, "ev-test_simple_prompt", "ev", "test_simple_prompt", true},
		{single, "fs-x", "ev", "fs-x", true}, // another server's prefix is just a name here
		{single, "", "", "", false},
	} {
		alias, name, ok := reg.ResolveName(tt.scope, tt.in)
		if ok != tt.ok || (ok && (alias != tt.alias || name != tt.name)) {
			t.Errorf("ResolveName(%+v, %q) = %q, %q, %v; want %q, %q, %v", tt.scope, tt.in, alias, name, ok, tt.alias, tt.name, tt.ok)
		}
	}
}

func TestResolveURI(t *testing.T) {
	reg := uriRegistry(t)
	all := Scope{Servers: []string{"ev", "fs"}, Prefixed: true}
	single := Scope{Servers: []string{"ev"}, Single: "ev"}
	for _, tt := range []struct {
		name       string
		scope      Scope
		in         string
		alias, uri string
		ok         bool
	}{
		{"prefixed", all, "mcpgw://fs/file:///x", "fs", "file:///x", true},
		{"prefixed out of scope", all, "mcpgw://Wiki/page://x", "", "", false},
		{"prefixed needs encoding", all, "file:///x", "", "", false},
		{"single takes upstream uri", single, "test://static-text", "ev", "test://static-text", true},
		{"single accepts own encoding", single, "mcpgw://ev/test://x", "ev", "test://x", true},
		{"single keeps other encodings", single, "mcpgw://fs/file:///x", "ev", "mcpgw://fs/file:///x", true},
		{"single empty", single, "", "", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			alias, uri, ok := reg.ResolveURI(tt.scope, tt.in)
			if ok != tt.ok || (ok && (alias != tt.alias || uri != tt.uri)) {
				t.Errorf("ResolveURI(%q) = %q, %q, %v; want %q, %q, %v", tt.in, alias, uri, ok, tt.alias, tt.uri, tt.ok)
			}
		})
	}
}
