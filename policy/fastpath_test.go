package policy

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/policy/identity"
)

// fastAllows is the second step of a decision as Envoy's fast path runs
// it on a ToolGrant (envoy/fastpath.lua): tool granted, not denied, every
// argument name in the tool's params rule when it has one.
func fastAllows(g ToolGrant, tool string, args []string) bool {
	if slices.Contains(g.Deny, tool) || (!g.AnyTool && !slices.Contains(g.Tools, tool)) {
		return false
	}
	rule, ok := g.Params[tool]
	for _, a := range args {
		if ok && !slices.Contains(rule, a) {
			return false
		}
	}
	return true
}

// TestToolGrantDecidesLikeThePolicy: for every key, server, tool and
// argument set, a tools/call the fast path would allow from the key's
// ToolGrant is one the policy allows, and the other way round; keys the
// fast path must not know (blocked, expired, unknown) have no grant.
func TestToolGrantDecidesLikeThePolicy(t *testing.T) {
	ctx := context.Background()
	p, err := Prepare(ctx, parseConfig(t, testConfig))
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, testConfig, Options{})
	now := time.Now()
	var asked, allowed int
	for _, key := range []string{"sk-master", "sk-full", "sk-docs", "sk-teamed", "sk-orged", "sk-tools", "sk-bare", "sk-revoked", "sk-expired", "sk-frozen", "sk-nosuch"} {
		for _, server := range []string{"wiki", "github", "jira", "public", "nosuch"} {
			g, ok, err := p.ToolGrant(ctx, identity.Hash(key), server, now)
			if err != nil {
				t.Fatal(err)
			}
			pr, authErr := e.Authenticate(keyHeader(key))
			if authErr != nil {
				if ok {
					t.Errorf("%s (%v) on %s: a grant for a key that does not authenticate", key, authErr, server)
				}
				continue
			}
			for _, tool := range []string{"read_wiki_contents", "search", "list_issues", "delete_repo"} {
				for _, args := range []string{"", `{"status":1}`, `{"limit":1,"status":2}`, `{"x":1}`} {
					req := Request{Principal: pr, Method: "tools/call", Server: server, Kind: KindTool, Name: tool}
					var names []string
					if args != "" {
						req.Arguments = []byte(args)
						var m map[string]any
						if err := json.Unmarshal(req.Arguments, &m); err != nil {
							t.Fatal(err)
						}
						for k := range m {
							names = append(names, k)
						}
					}
					want := p.evaluate(req).Allow
					if got := ok && fastAllows(g, tool, names); got != want {
						t.Errorf("%s %s %s %s: fast path %v (grant %v %+v), policy %v", key, server, tool, args, got, ok, g, want)
					}
					asked++
					if want {
						allowed++
					}
				}
			}
		}
	}
	if allowed == 0 || allowed == asked {
		t.Fatalf("%d of %d allowed: the matrix tests nothing", allowed, asked)
	}
	g, ok, _ := p.ToolGrant(ctx, identity.Hash("sk-tools"), "github", now)
	if !ok || g.KeyID != "tools" || g.AnyTool || !slices.Equal(g.Tools, []string{"list_issues"}) {
		t.Errorf("sk-tools on github: %v %+v", ok, g)
	}
	if g, ok, _ := p.ToolGrant(ctx, identity.Hash("sk-orged"), "github", now); !ok || g.KeyID != "orged" || g.Team != "acme-devs" || g.Org != "acme" {
		t.Errorf("sk-orged on github: %v %+v, want its team and organization", ok, g)
	}
}

// TestToolGrantNeedsTheShippedPolicy: with custom rules no grant is
// handed over (they may read anything).
func TestToolGrantNeedsTheShippedPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "custom.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"no\" if input.tool.name == \"search\"\n")
	cfg := parseConfig(t, testConfig)
	cfg.Access.PolicyDir = dir
	p, err := Prepare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := p.FastPathable(); ok || why == "" {
		t.Errorf("FastPathable with a custom module: %v %q", ok, why)
	}
	if _, ok, _ := p.ToolGrant(context.Background(), identity.Hash("sk-full"), "wiki", time.Now()); ok {
		t.Error("a grant with custom rules")
	}
}
