package credentials

import (
	"strings"
	"testing"
)

// FuzzAliasesParse checks that any header name either parses to a
// configured alias and a valid, non-reserved-by-syntax header name that
// the original name really ends with, or does not parse at all.
func FuzzAliasesParse(f *testing.F) {
	for _, s := range []string{
		"x-mcp-github-authorization", "X-MCP-Git-Hub-X-Api-Key", "x-mcp-servers", "x-mcp-access-groups",
		"x-mcp-", "x-mcp--", "x-mcp-a-", "x-mcp-a-b-c", "x-mcp-\x00-a", "x-mcp-ü-a", "x-mcp-git-hub-",
	} {
		f.Add(s)
	}
	aliases := []string{"github", "git", "git-hub", "a", "a-b", "Under_Score"}
	a, err := NewAliases(aliases)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		alias, header, ok := a.Parse(name)
		if !ok {
			if alias != "" || header != "" {
				t.Fatalf("Parse(%q) failed but returned %q, %q", name, alias, header)
			}
			return
		}
		lower := strings.ToLower(name)
		if lower == HeaderServers || lower == HeaderAccessGroups {
			t.Fatalf("Parse(%q) accepted a scope header", name)
		}
		if !IsHeaderName(header) || header != strings.ToLower(header) {
			t.Fatalf("Parse(%q) = header %q, not a lower-case header name", name, header)
		}
		want := ClientHeaderPrefix + strings.ToLower(alias) + "-" + header
		if lower != want {
			t.Fatalf("Parse(%q) = %q, %q, which spells %q", name, alias, header, want)
		}
		known := false
		for _, c := range aliases {
			known = known || c == alias
		}
		if !known {
			t.Fatalf("Parse(%q) = alias %q, not configured", name, alias)
		}
		// Longest match: no longer configured alias also fits.
		for _, c := range aliases {
			lc := strings.ToLower(c)
			if len(lc) > len(alias) && strings.HasPrefix(lower, ClientHeaderPrefix+lc+"-") {
				t.Fatalf("Parse(%q) = %q, but the longer alias %q matches", name, alias, c)
			}
		}
	})
}
