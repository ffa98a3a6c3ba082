package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// benchConfig is a gateway with servers servers (server i in access group
// g<i%10>, allowed_params on its "read" tool) and keys keys, each with
// three servers, a group and tool permissions, in one of 100 teams under
// 10 organizations.
func benchConfig(servers, keys int) *config.Config {
	cfg := &config.Config{General: config.GeneralSettings{MCPToolPrefixSeparator: "-", KeyHeaderName: "x-litellm-api-key"}}
	for i := range servers {
		alias := fmt.Sprintf("s%d", i)
		cfg.Servers = append(cfg.Servers, config.Server{
			Name: alias, Alias: alias,
			DisallowedTools: []string{"delete"},
			AllowedParams:   map[string][]string{"read": {"id", "limit"}},
			AccessGroups:    []string{fmt.Sprintf("g%d", i%10)},
		})
	}
	for i := range 10 {
		cfg.Access.Organizations = append(cfg.Access.Organizations, config.Organization{
			ID: fmt.Sprintf("o%d", i), Permission: config.ObjectPermission{MCPAccessGroups: []string{"g0", "g1", "g2"}},
		})
	}
	for i := range 100 {
		cfg.Access.Teams = append(cfg.Access.Teams, config.Team{
			ID: fmt.Sprintf("t%d", i), OrganizationID: fmt.Sprintf("o%d", i%10),
			Permission: config.ObjectPermission{MCPServers: []string{"s0", "s1", "s2", "s10", "s20"}},
		})
	}
	for i := range keys {
		sum := sha256.Sum256([]byte(fmt.Sprintf("sk-bench-%d", i)))
		cfg.Access.Keys = append(cfg.Access.Keys, config.Key{
			Alias: fmt.Sprintf("k%d", i), Token: hex.EncodeToString(sum[:]), TeamID: fmt.Sprintf("t%d", i%100),
			Permission: config.ObjectPermission{
				MCPServers:         []string{"s0", "s1", fmt.Sprintf("s%d", i%servers)},
				MCPAccessGroups:    []string{"g2"},
				MCPToolPermissions: map[string][]string{"s1": {"read", "list"}},
			},
		})
	}
	cfg.Access.InputHeaders = []string{"user-agent"}
	sum := sha256.Sum256([]byte("sk-bench-master"))
	cfg.General.MasterKeyHash = hex.EncodeToString(sum[:])
	return cfg
}

func BenchmarkDecide(b *testing.B) {
	for _, keys := range []int{10, 10000} {
		cfg := benchConfig(500, keys)
		e, err := New(context.Background(), cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		names, _ := namespace.NewRegistry(aliases(cfg), "-")
		scope, _ := names.Resolve("/mcp", nil)
		header := func(n string) string {
			return map[string]string{"x-litellm-api-key": "sk-bench-7", "user-agent": "bench"}[n]
		}
		p, err := e.Authenticate(header)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			req  Request
		}{
			{"call", Request{Principal: p, Method: "tools/call", Server: "s1", Kind: KindTool, Name: "read",
				Arguments: []byte(`{"id":"42","limit":10}`), Scope: scope, Path: "/mcp", Header: header}},
			{"call_params_denied", Request{Principal: p, Method: "tools/call", Server: "s1", Kind: KindTool, Name: "read",
				Arguments: []byte(`{"id":"42","verbose":true}`), Scope: scope, Path: "/mcp", Header: header}},
			{"list_item", Request{Principal: p, Method: "tools/list", Server: "s0", Kind: KindTool, Name: "search", Scope: scope, Path: "/mcp", Header: header}},
		} {
			// Decide: what the gateway runs; a repeated question is
			// answered from the decision cache.
			b.Run(fmt.Sprintf("keys=%d/%s/decide", keys, c.name), func(b *testing.B) {
				timed(b, func() { e.Decide(c.req) })
			})
			// eval: the Rego evaluation itself, as on a cache miss.
			b.Run(fmt.Sprintf("keys=%d/%s/eval", keys, c.name), func(b *testing.B) {
				p := e.Current()
				timed(b, func() { p.evaluate(c.req) })
			})
		}
		// grant: what a principal's first question about a server costs on
		// top (its grant there, computed once per principal, server and
		// policy version): a key, and the master key.
		admin, err := e.Authenticate(func(n string) string {
			return map[string]string{"x-litellm-api-key": "sk-bench-master"}[n]
		})
		if err != nil {
			b.Fatal(err)
		}
		for name, pr := range map[string]*identity.Principal{"key": p, "master_key": admin} {
			b.Run(fmt.Sprintf("keys=%d/grant/%s", keys, name), func(b *testing.B) {
				prep := e.Current()
				term := principalTerm(pr)
				timed(b, func() {
					if _, err := prep.evalGrant(context.Background(), term, "s1"); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
		b.Run(fmt.Sprintf("keys=%d/authenticate", keys), func(b *testing.B) {
			timed(b, func() {
				if _, err := e.Authenticate(header); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// timed runs f b.N times and reports, besides the mean (ns/op), the
// median and the 99th percentile of single runs (p50-µs, p99-µs; each
// includes about 50 ns of clock reading).
func timed(b *testing.B, f func()) {
	b.ReportAllocs()
	durations := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		f()
		durations = append(durations, time.Since(start))
	}
	slices.Sort(durations)
	at := func(q float64) float64 {
		return float64(durations[int(q*float64(len(durations)-1))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

func aliases(cfg *config.Config) []string {
	out := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		out[i] = s.Alias
	}
	return out
}
