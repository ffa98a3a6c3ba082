package namespace

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	reg, err := NewRegistry([]string{"github", "wiki", "jira", "petstore_mcp"}, "-",
		WithAccessGroups(map[string][]string{"dev": {"jira", "github"}, "docs": {"wiki"}, "wiki": {"jira"}}))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"github", "wiki", "jira", "petstore_mcp"}
	tests := []struct {
		name     string
		path     string
		headers  map[string]string
		servers  []string
		prefixed bool
		single   string
		sse      bool
		notFound bool // want a 404-style error
		badReq   bool // want a 400-style error
	}{
		{name: "aggregate", path: "/mcp", servers: all, prefixed: true},
		{name: "aggregate slash", path: "/mcp/", servers: all, prefixed: true},
		{name: "aggregate query", path: "/mcp?x=1", servers: all, prefixed: true},
		{name: "one server", path: "/mcp/wiki", servers: []string{"wiki"}, prefixed: true},
		{name: "list in config order", path: "/mcp/jira,github", servers: []string{"github", "jira"}, prefixed: true},
		{name: "group", path: "/mcp/dev", servers: []string{"github", "jira"}, prefixed: true},
		{name: "group and server dedup", path: "/mcp/dev,github,jira", servers: []string{"github", "jira"}, prefixed: true},
		{name: "alias beats group of same name", path: "/mcp/wiki", servers: []string{"wiki"}, prefixed: true},
		{name: "spaces", path: "/mcp/github,%20wiki", servers: []string{"github", "wiki"}, prefixed: true},
		{name: "encoded comma", path: "/mcp/github%2Cwiki", servers: []string{"github", "wiki"}, prefixed: true},
		// A name with a control character is refused, not skipped: it
		// would go on with the path (into a legacy stream's endpoint event).
		{name: "newline in a skipped name", path: "/mcp/wiki,x%0A%0Aevent:%20endpoint/sse", badReq: true},
		{name: "DEL in a name", path: "/mcp/wiki,x%7F", badReq: true},
		{name: "single server endpoint", path: "/petstore_mcp/mcp", servers: []string{"petstore_mcp"}, single: "petstore_mcp"},
		{name: "single trailing slash", path: "/wiki/mcp/", servers: []string{"wiki"}, single: "wiki"},
		{name: "header narrows", path: "/mcp", headers: map[string]string{HeaderServers: "wiki, dev"}, servers: []string{"github", "wiki", "jira"}, prefixed: true},
		{name: "groups header", path: "/mcp", headers: map[string]string{HeaderAccessGroups: "docs"}, servers: []string{"wiki"}, prefixed: true},
		{name: "empty header means no servers", path: "/mcp", headers: map[string]string{HeaderServers: ""}, servers: []string{}, prefixed: true},
		{name: "blank header means no servers", path: "/mcp", headers: map[string]string{HeaderServers: " "}, servers: []string{}, prefixed: true},
		{name: "empty groups header means no servers", path: "/mcp", headers: map[string]string{HeaderAccessGroups: ""}, servers: []string{}, prefixed: true},
		{name: "empty header and a group", path: "/mcp", headers: map[string]string{HeaderServers: "", HeaderAccessGroups: "docs"}, servers: []string{"wiki"}, prefixed: true},
		{name: "empty header on legacy sse", path: "/sse", headers: map[string]string{HeaderServers: ""}, servers: []string{}, prefixed: true, sse: true},
		{name: "empty header ignored on path form", path: "/mcp/wiki", headers: map[string]string{HeaderServers: ""}, servers: []string{"wiki"}, prefixed: true},
		{name: "path after the list", path: "/mcp/github,wiki/tools", servers: []string{"github", "wiki"}, prefixed: true},
		{name: "longer path after the list", path: "/mcp/github,wiki/tools/list/", servers: []string{"github", "wiki"}, prefixed: true},
		{name: "path after one server", path: "/mcp/github/tools", servers: []string{"github"}, prefixed: true},
		{name: "path after a group", path: "/mcp/dev/mcp", servers: []string{"github", "jira"}, prefixed: true},
		{name: "unknown name skipped", path: "/mcp/github,nope", servers: []string{"github"}, prefixed: true},
		{name: "unknown names skipped around a group", path: "/mcp/nope,dev,zilch/tools", servers: []string{"github", "jira"}, prefixed: true},
		{name: "unknown in header skipped", path: "/mcp", headers: map[string]string{HeaderServers: "github,nope"}, servers: []string{"github"}, prefixed: true},
		{name: "unknown group skipped", path: "/mcp", headers: map[string]string{HeaderAccessGroups: "nope,docs"}, servers: []string{"wiki"}, prefixed: true},
		{name: "header ignored on path form", path: "/mcp/wiki", headers: map[string]string{HeaderServers: "github"}, servers: []string{"wiki"}, prefixed: true},

		{name: "legacy sse aggregate", path: "/sse", servers: all, prefixed: true, sse: true},
		{name: "legacy sse message endpoint", path: "/sse?sessionid=abc", servers: all, prefixed: true, sse: true},
		{name: "legacy sse list", path: "/mcp/dev/sse", servers: []string{"github", "jira"}, prefixed: true, sse: true},
		{name: "legacy sse single", path: "/wiki/sse", servers: []string{"wiki"}, single: "wiki", sse: true},
		{name: "legacy sse header", path: "/sse", headers: map[string]string{HeaderServers: "wiki"}, servers: []string{"wiki"}, prefixed: true, sse: true},
		{name: "legacy sse unknown single", path: "/nope/sse", notFound: true},
		{name: "legacy sse too deep", path: "/a/b/sse", notFound: true},
		{name: "unknown server", path: "/mcp/nope", notFound: true},
		{name: "only unknown names", path: "/mcp/nope,zilch", notFound: true},
		{name: "only unknown names with a path", path: "/mcp/nope,zilch/tools", notFound: true},
		{name: "only unknown in header", path: "/mcp", headers: map[string]string{HeaderServers: "nope"}, notFound: true},
		{name: "only unknown groups", path: "/mcp", headers: map[string]string{HeaderAccessGroups: "nope"}, notFound: true},
		{name: "empty header and only unknown groups", path: "/mcp", headers: map[string]string{HeaderServers: "", HeaderAccessGroups: "nope"}, notFound: true},
		{name: "path after the list on legacy sse", path: "/mcp/github/tools/sse", notFound: true},
		{name: "server name as group header", path: "/mcp", headers: map[string]string{HeaderAccessGroups: "github"}, notFound: true},
		{name: "case matters", path: "/mcp/GitHub", notFound: true},
		{name: "case matters endpoint", path: "/MCP", notFound: true},
		{name: "unknown single", path: "/nope/mcp", notFound: true},
		{name: "empty name", path: "/mcp/github,,wiki", badReq: true},
		{name: "empty header name", path: "/mcp", headers: map[string]string{HeaderServers: "github,"}, badReq: true},
		{name: "traversal", path: "/mcp/../admin", notFound: true},
		{name: "encoded traversal", path: "/%2e%2e/mcp", notFound: true},
		{name: "encoded slash", path: "/mcp/github%2Fwiki", notFound: true},
		{name: "double slash", path: "/mcp//", badReq: true},
		{name: "deeper single", path: "/github/mcp/tools", notFound: true},
		{name: "root", path: "/", notFound: true},
		{name: "bad escape", path: "/mcp/%zz", badReq: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := reg.Resolve(tt.path, func(h string) (string, bool) { v, ok := tt.headers[h]; return v, ok })
			if tt.notFound || tt.badReq {
				var se *ScopeError
				if !errors.As(err, &se) || se.NotFound != tt.notFound {
					t.Fatalf("Resolve(%q) = %+v, %v; want notFound=%v", tt.path, sc, err, tt.notFound)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tt.path, err)
			}
			if !slices.Equal(sc.Servers, tt.servers) || sc.Servers == nil || sc.Prefixed != tt.prefixed || sc.Single != tt.single || sc.LegacySSE != tt.sse {
				t.Fatalf("Resolve(%q) = %+v", tt.path, sc)
			}
		})
	}
}

func TestResolveErrorsNameOnlyWhatTheClientSent(t *testing.T) {
	reg, _ := NewRegistry([]string{"secret_server"}, "-")
	for _, path := range []string{"/mcp/nope", "/mcp/nope,other", "/mcp/nope/tools"} {
		_, err := reg.Resolve(path, nil)
		var se *ScopeError
		if err == nil || err.Error() != `unknown MCP server or access group "nope"` || !errors.As(err, &se) || se.Unknown != "nope" {
			t.Fatalf("%s: got %v", path, err)
		}
	}
}

// Narrowed tells a list the client wrote from the whole aggregate, even
// when the list names every server.
func TestNarrowed(t *testing.T) {
	reg, _ := NewRegistry([]string{"a", "b"}, "-")
	for _, tc := range []struct {
		path    string
		servers string
		want    bool
	}{
		{"/mcp", "", false}, {"/mcp/a,b", "", true}, {"/mcp/a,b,guess", "", true}, {"/mcp", "a,b", true},
	} {
		lookup := func(name string) (string, bool) {
			if name == HeaderServers && tc.servers != "" {
				return tc.servers, true
			}
			return "", false
		}
		sc, err := reg.Resolve(tc.path, lookup)
		if err != nil || sc.Narrowed != tc.want {
			t.Errorf("%s (x-mcp-servers %q): narrowed %v, err %v; want %v", tc.path, tc.servers, sc.Narrowed, err, tc.want)
		}
	}
}

func TestAccessGroupMembersMustExist(t *testing.T) {
	if _, err := NewRegistry([]string{"a"}, "-", WithAccessGroups(map[string][]string{"g": {"b"}})); err == nil {
		t.Fatal("group with unknown member accepted")
	}
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"/mcp", "/mcp/a,b", "/a/mcp", "/mcp/%2e", "/mcp/g", "/mcp/a,zz/tools", "/sse"} {
		f.Add(s, "a,g")
	}
	f.Add("/mcp", "")
	reg, _ := NewRegistry([]string{"a", "b"}, "-", WithAccessGroups(map[string][]string{"g": {"b"}}))
	f.Fuzz(func(t *testing.T, path, header string) {
		// An empty fuzzed header is a header sent empty; the aggregate
		// without headers is covered by the path forms.
		sc, err := reg.Resolve(path, func(string) (string, bool) { return header, true })
		if err != nil {
			return
		}
		if len(sc.Servers) == 0 && strings.TrimSpace(header) != "" {
			t.Fatalf("Resolve(%q, %q) gave an empty scope without an error", path, header)
		}
		for _, s := range sc.Servers {
			if !reg.Has(s) {
				t.Fatalf("Resolve(%q) gave unknown server %q", path, s)
			}
		}
	})
}
