package policy

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/mcpgw/mcpgw/policy/identity"
)

// The gateway hands each question its principal's grant (input.grant);
// without it the policy computes the grant itself. Both must decide alike
// for every principal, server, kind, tool and argument set, and a grant
// is computed once per principal and server.
func TestHandedInGrantDecidesLikeThePolicy(t *testing.T) {
	ctx := context.Background()
	cfg := parseConfig(t, testConfig)
	handed, err := Prepare(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	computed, err := Prepare(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	computed.cacheable = false // no grant handed in, nothing reused
	if !handed.cacheable {
		t.Fatal("the shipped policy should be cacheable")
	}
	e := newEngine(t, testConfig, Options{})
	principals := []*identity.Principal{
		principal(t, e, "sk-master"), principal(t, e, "sk-full"), principal(t, e, "sk-docs"),
		principal(t, e, "sk-teamed"), principal(t, e, "sk-orged"), principal(t, e, "sk-tools"),
		principal(t, e, "sk-bare"),
		{ID: "ghost"},                // a key the data does not have
		{ID: "full", Team: "nosuch"}, // a team the data does not have
		{Anonymous: true},
	}
	var asked, allowed int
	for _, pr := range principals {
		for _, server := range []string{"wiki", "github", "jira", "public", "nosuch", ""} {
			for _, kind := range []Kind{KindTool, KindPrompt, KindNone} {
				for _, tool := range []string{"read_wiki_contents", "search", "list_issues", "delete_repo", ""} {
					for _, args := range []string{"", `{"status":1}`, `{"limit":1,"status":2}`, `{"x":1}`} {
						req := Request{Principal: pr, Method: "tools/call", Server: server, Kind: kind, Name: tool}
						if args != "" {
							req.Arguments = []byte(args)
						}
						want := computed.evaluate(req)
						got := handed.evaluate(req)
						if got != want {
							t.Errorf("%s %s %s %s %s: handed-in grant %+v, computed %+v", pr.ID, server, kind, tool, args, got, want)
						}
						asked++
						if got.Allow {
							allowed++
						}
					}
				}
			}
		}
	}
	if allowed == 0 || allowed == asked {
		t.Fatalf("%d of %d allowed: the matrix tests nothing", allowed, asked)
	}
	// One grant per principal and server asked about.
	n := 0
	for _, pe := range handed.principals.m {
		n += len(pe.grants)
	}
	if want := len(principals) * 5; n != want { // servers but ""
		t.Errorf("%d grants kept, want %d", n, want)
	}
	t.Logf("%d questions, %d allowed", asked, allowed)
}

func TestGrantEvaluationErrorDenies(t *testing.T) {
	// A custom rule in package mcpgw.authz that breaks the grant: the
	// question is denied, not answered without it.
	dir := t.TempDir()
	writeFile(t, dir+"/broken.rego", `package mcpgw.authz

import rego.v1

grants[s] := x if {
	s := "wiki"
	x := 1 / 0
}
`)
	cfg := parseConfig(t, testConfig+fmt.Sprintf("  policy_dir: %s\n", dir))
	p, err := Prepare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, testConfig, Options{})
	d := p.evaluate(Request{Principal: principal(t, e, "sk-master"), Method: "tools/call", Server: "wiki", Kind: KindTool, Name: "search"})
	if d.Allow || d.Message != "Access denied: the gateway could not evaluate its access policy" {
		t.Fatalf("got %+v", d)
	}
}

// Principals with the same rules on a server share one grant, and the
// cache starts over when it holds too many grants.
func TestGrantsAreSharedAndBounded(t *testing.T) {
	ctx := context.Background()
	p, err := Prepare(ctx, parseConfig(t, testConfig))
	if err != nil {
		t.Fatal(err)
	}
	p.principals.maxGrants = 3
	e := newEngine(t, testConfig, Options{})
	full, docs := principal(t, e, "sk-full"), principal(t, e, "sk-docs")
	grantOf := func(pr *identity.Principal, server string) *ast.Term {
		g, err := p.grant(ctx, p.principals.entry(pr), server)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	// full and docs both may use wiki, under its server rules only.
	a, b := grantOf(full, "wiki"), grantOf(docs, "wiki")
	if a != b {
		t.Fatalf("equal grants kept twice: %v and %v", a, b)
	}
	if _, ok := a.Value.(ast.Object); !ok {
		t.Fatalf("grant on wiki is %v", a)
	}
	grantOf(full, "github") // 3 grants kept
	if n := p.principals.grants.Load(); n != 3 {
		t.Fatalf("%d grants counted, want 3", n)
	}
	p.principals.entry(principal(t, e, "sk-teamed")) // over the bound: starts over
	if n, m := p.principals.grants.Load(), len(p.principals.m); n != 0 || m != 1 {
		t.Fatalf("after the bound: %d grants, %d principals; want 0 and 1", n, m)
	}
}
