package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams"
)

// Current is the runtime the first replica runs now: the one Start built,
// or the last one Apply swapped in.
func (inst *Instance) Current() *Runtime { return inst.current.Load() }

// Apply makes cfg the running gateway's config without a restart: servers
// added, changed or removed, and the access settings. Every replica gets
// the new state, each part swapped whole: the access policy, the router
// (with new servers' credentials and token sources), the sidecar's
// servers, lists and discovery links (clients with an open session hear
// list_changed), the adapters of stdio, OpenAPI and legacy SSE servers,
// the upstream sessions of removed or changed servers, and Envoy's
// clusters (when it gets them over xDS). Servers whose connection did not
// change keep their discovery links, upstream sessions and adapters
// (upstreams.SameConnection).
//
// What only a restart can change (the gateway: block, general_settings but
// the master key and require_key_mcp_access_defined,
// access.key_from_authorization) stays as it runs, and a warning says so.
// cfg must be validated (configfile.Load, configfile.Parse). An error building
// the new state leaves the running state untouched. Calls are serialized.
func (inst *Instance) Apply(ctx context.Context, cfg *config.Config) error {
	inst.applyMu.Lock()
	defer inst.applyMu.Unlock()
	if len(inst.Replicas) == 0 {
		return errors.New("gateway: not running")
	}
	running := inst.Replicas[0].rt.Config
	if r := config.CompareForReload(running, cfg); r.NeedsRestartLive() {
		inst.log.Warn("config changes that need a restart were not applied",
			"gateway_block_changed", r.Gateway, "general_settings_changed", r.General,
			"key_from_authorization_changed", r.KeySource)
	}
	cfg = config.ForApply(running, cfg)

	// Build everything first: a failure here changes nothing.
	next := make([]*Runtime, len(inst.Replicas))
	for i, rep := range inst.Replicas {
		rt, err := build(cfg, rep.rt, &inst.build)
		if err != nil {
			return fmt.Errorf("apply config: %w", err)
		}
		next[i] = rt
	}
	old := inst.Replicas[0].rt.Upstreams
	ups := next[0].Upstreams
	union := unionOf(old, ups)

	// New and changed servers get their adapters and Envoy clusters
	// before any router routes to them; removed ones keep theirs until
	// no router does.
	adapters := inst.Replicas[0].Adapters
	if adapters != nil {
		if err := adapters.Update(ctx, union); err != nil {
			// Built, but a backend did not start (an eager stdio server
			// that exits): it is retried like one configured at start.
			inst.log.Warn("apply config: adapter failed to start", "error", err)
		}
	}
	if inst.updateEnvoy != nil {
		// The new policy's grants: a key it removes leaves Envoy's fast
		// path before the routers stop accepting it. So does what was
		// learned of a server whose connection changes (fastPathPairs.table
		// grants a pair only for the connection it was learned of).
		access := next[0].pending
		if access == nil {
			access = next[0].Access.Current()
		}
		if err := inst.updateEnvoy(ctx, union, access); err != nil {
			if adapters != nil {
				adapters.Update(context.WithoutCancel(ctx), old)
			}
			return fmt.Errorf("apply config: update envoy: %w", err)
		}
	}
	for i, rep := range inst.Replicas {
		inst.applyReplica(ctx, rep, next[i])
	}
	inst.current.Store(next[0])
	if inst.checker != nil {
		inst.checker.Kick()
	}
	if adapters != nil {
		if err := adapters.Update(ctx, ups); err != nil {
			inst.log.Warn("apply config: adapter failed to start", "error", err)
		}
	}
	if inst.updateEnvoy != nil {
		if err := inst.updateEnvoy(ctx, ups, next[0].Access.Current()); err != nil {
			// Envoy keeps clusters no router routes to; the next update
			// removes them.
			inst.log.Warn("apply config: removing envoy clusters failed", "error", err)
		}
	}
	inst.log.Info("config applied", "servers", len(ups))
	return nil
}

// applyReplica swaps rt into one replica, part by part: the policy first
// (it knows a new server before the router routes to it), then the
// router, the sidecar, and the upstream sessions of servers that went or
// changed.
func (inst *Instance) applyReplica(ctx context.Context, rep *Replica, rt *Runtime) {
	prev := rep.rt
	if rt.pending != nil {
		rt.Access.Swap(rt.pending)
		rt.pending = nil
	}
	rep.ExtProc.SetRouter(rt.Router)
	if err := rep.Sidecar.Update(ctx, rt.Names, rt.Upstreams); err != nil {
		// Checked when built (checkReachable); logged, not fatal: the
		// router already serves the new set.
		inst.log.Error("apply config: sidecar update failed", "error", err)
	}
	byAlias := make(map[string]*upstreams.Upstream, len(rt.Upstreams))
	for _, u := range rt.Upstreams {
		byAlias[u.Alias] = u
	}
	var ended []string
	for _, u := range prev.Upstreams {
		if !upstreams.SameConnection(u, byAlias[u.Alias]) {
			ended = append(ended, u.Alias)
		}
	}
	rep.Sessions.EndUpstreams(ended...)
	rep.rt = rt
}

// unionOf is next and, after it, the servers of prev that next lacks:
// what must be reachable while the routers change from prev to next.
func unionOf(prev, next []*upstreams.Upstream) []*upstreams.Upstream {
	out := append([]*upstreams.Upstream(nil), next...)
	in := make(map[string]bool, len(next))
	for _, u := range next {
		in[u.Alias] = true
	}
	for _, u := range prev {
		if !in[u.Alias] {
			out = append(out, u)
		}
	}
	return out
}

// watchConfig applies the config file (when the gateway was started from
// one) and the policy files whenever they change, until ctx ends; see
// Watch. The first replica's engine watches; Apply updates
// every replica.
func (inst *Instance) watchConfig(ctx context.Context) {
	inst.applyMu.Lock()
	rt := inst.Replicas[0].rt
	inst.applyMu.Unlock()
	apply := inst.Apply
	if f := inst.follower; f != nil {
		// The file is merged with the store's objects first.
		apply = f.watchApply(rt.Config.Path)
	}
	Watch(ctx, rt.Access, ConfigSource{Path: rt.Config.Path, Env: os.LookupEnv, Running: rt.Config, Apply: apply},
		0, inst.log.With("component", "config"))
}
