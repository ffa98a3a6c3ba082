package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/policy/identity"
	"github.com/mcpgw/mcpgw/upstreams"
)

const fastPathTestConfig = `
general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  alpha:
    url: http://127.0.0.1:1/mcp
    allowed_params:
      echo: [text]
  beta:
    url: http://127.0.0.1:2/mcp
    static_headers: {X-Team: platform}
access:
  keys:
    - {key_alias: tools, key: sk-tools-0123456789, team_id: t, object_permission: {mcp_servers: [alpha, beta], mcp_tool_permissions: {alpha: [echo]}}}
  teams:
    - {team_id: t}
`

// fastPathPairs learns each (key, server) pair once, signals each new
// one, stops at MaxFastPathPairs, and hands Envoy the grants of the pairs
// whose server it can call without ext_proc (no credentials of its own)
// and whose key still authenticates; the others are forgotten.
func TestFastPathPairs(t *testing.T) {
	cfg, err := configfile.Parse([]byte(fastPathTestConfig), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tools := identity.Hash("sk-tools-0123456789").String()
	gone := identity.Hash("sk-deleted-0123456789").String()

	up := map[string]*upstreams.Upstream{}
	for _, u := range rt.Upstreams {
		up[u.Alias] = u
	}
	alpha, beta := up["alpha"], up["beta"]
	f := newFastPathPairs(rt.Sessions, "")
	f.learn(tools, alpha, "2026-07-28")
	f.learn(tools, alpha, "2026-07-28")
	f.learn(tools, beta, "2026-07-28")
	f.learn(gone, alpha, "2026-07-28")
	signals := 0
	for len(f.learned) > 0 {
		<-f.learned
		signals++
	}
	if signals != 1 || !f.hasPairs() {
		t.Fatalf("signals %d (want 1: the channel holds one), hasPairs %v", signals, f.hasPairs())
	}

	fp := f.table(context.Background(), rt.Access.Current(), rt.Upstreams, slog.New(slog.DiscardHandler))
	if fp.KeyHeader != "x-litellm-api-key" || fp.Separator != "-" || fp.ValidUntil.IsZero() {
		t.Errorf("table settings: %+v", fp)
	}
	if len(fp.Servers) != 1 || fp.Servers[0].Alias != "alpha" {
		t.Fatalf("servers %+v, want alpha only (beta has static_headers)", fp.Servers)
	}
	g, ok := fp.Servers[0].Grants[tools]
	if !ok || len(fp.Servers[0].Grants) != 1 {
		t.Fatalf("alpha's grants %+v, want the tools key's only", fp.Servers[0].Grants)
	}
	if g.KeyAlias != "tools" || g.Team != "t" || g.AnyTool || len(g.Tools) != 1 || g.Tools[0] != "echo" || len(g.Params["echo"]) != 1 {
		t.Errorf("grant %+v", g)
	}
	if !slices.Equal(g.Versions, []string{"2026-07-28"}) {
		t.Errorf("grant versions %q, want the one learned", g.Versions)
	}
	if len(fp.SessionKeys) != 1 || fp.SessionTTL != rt.Config.Gateway.SessionTTL {
		t.Errorf("session keys %d, ttl %v: want the sealer's", len(fp.SessionKeys), fp.SessionTTL)
	}
	if !bytes.Equal(fp.RelayKey, rt.Sessions.RelayKeys()[0]) {
		t.Error("the relay key is not the one the full path signs with")
	}
	if f.pairs[fastPathPair{gone, "alpha"}] != nil {
		t.Error("the pair of a key that no longer authenticates is kept")
	}
	if f.pairs[fastPathPair{tools, "beta"}] == nil {
		t.Error("a pair of a server the fast path cannot call now is forgotten (the server may change)")
	}

	// A version learned later joins the pair's: an older client's
	// calls to an upstream that keeps no sessions.
	f.learn(tools, alpha, "2025-11-25")
	if len(f.learned) != 1 {
		t.Error("a new version of a known pair is not signalled")
	}
	<-f.learned
	fp = f.table(context.Background(), rt.Access.Current(), rt.Upstreams, slog.New(slog.DiscardHandler))
	if v := fp.Servers[0].Grants[tools].Versions; !slices.Equal(v, []string{"2025-11-25", "2026-07-28"}) {
		t.Errorf("grant versions %q, want both learned, sorted", v)
	}

	// What was learned of a connection holds for it only: a call that
	// went to alpha's old upstream, learned after alpha moved, gives Envoy
	// no grant for the new one (and is dropped).
	movedURL := *alpha.URL
	movedURL.Host = "127.0.0.1:3"
	moved := *alpha
	moved.URL = &movedURL
	now := []*upstreams.Upstream{&moved, beta}
	if fp := f.table(context.Background(), rt.Access.Current(), now, slog.New(slog.DiscardHandler)); len(fp.Servers) != 0 {
		t.Errorf("grants of a moved server's old upstream: %+v", fp.Servers)
	}
	if f.pairs[fastPathPair{tools, "alpha"}] != nil {
		t.Error("a pair learned of a server's old upstream is kept")
	}
	// Learned of the new one: granted. A late call to the old one
	// replaces it (and is dropped again by table).
	f.learn(tools, &moved, "2026-07-28")
	<-f.learned
	if fp := f.table(context.Background(), rt.Access.Current(), now, slog.New(slog.DiscardHandler)); len(fp.Servers) != 1 {
		t.Errorf("grants after learning the moved server: %+v", fp.Servers)
	}
	// The same connection in a newer config keeps what was learned.
	again := moved
	f.learn(tools, &again, "2026-07-28")
	if len(f.learned) != 0 || !f.pairs[fastPathPair{tools, "alpha"}].versions["2026-07-28"] {
		t.Error("the same connection of a newer config was learned anew")
	}
	f.learn(tools, alpha, "2026-07-28")
	<-f.learned
	if fp := f.table(context.Background(), rt.Access.Current(), now, slog.New(slog.DiscardHandler)); len(fp.Servers) != 0 {
		t.Errorf("a late call to the old upstream gave grants: %+v", fp.Servers)
	}

	for i := len(f.pairs); i < MaxFastPathPairs+10; i++ {
		f.learn(fmt.Sprint(i), alpha, "2026-07-28")
	}
	if len(f.pairs) != MaxFastPathPairs {
		t.Errorf("%d pairs kept, want at most %d", len(f.pairs), MaxFastPathPairs)
	}
	// A full table still learns versions of the pairs it has.
	f.learn(tools, beta, "2025-06-18")
	if !f.pairs[fastPathPair{tools, "beta"}].versions["2025-06-18"] {
		t.Error("a full table refused a version of a pair it holds")
	}
}
