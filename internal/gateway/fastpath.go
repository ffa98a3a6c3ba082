package gateway

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// Envoy's fast path (docs/architecture.md, "The fast path") gets the
// grants of the keys that call a server, as the policy computes them. It
// learns which: a key's first tools/call to a server at a protocol version
// goes through ext_proc, which tells fastPathPairs when the upstream took
// it without a session (every 2026-07-28 call to an upstream that speaks
// it; a 2025-era call to one that keeps no sessions); the grants of the pairs learned so far are then sent to Envoy
// with the routes, and computed again with every new policy version (a
// key deleted, blocked or changed is gone from Envoy, or changed there,
// with the route table that follows the store write).

// MaxFastPathPairs bounds the (key, server) pairs Envoy gets grants for;
// past it, new pairs keep taking the full path.
const MaxFastPathPairs = 4096

// fastPathDebounce gathers the pairs learned together into one update.
const fastPathDebounce = 20 * time.Millisecond

// FastPathTTL is how long Envoy uses the grants it has without a newer
// set (envoy.FastPath.ValidUntil): the gateway sends them again every
// third of it while it runs, so a gateway that stopped leaves Envoy
// deciding nothing itself within FastPathTTL (its calls then fail closed
// with ext_proc).
const FastPathTTL = 30 * time.Second

type fastPathPair struct{ owner, alias string }

// learnedPair is what was learned of a pair: the protocol versions its
// calls were seen to go at without an upstream session, and the upstream
// they went to (what was learned holds for that connection only).
type learnedPair struct {
	up       *upstreams.Upstream
	versions map[string]bool
}

// fastPathPairs are the pairs learned, safe for concurrent use.
type fastPathPairs struct {
	mu    sync.RWMutex
	pairs map[fastPathPair]*learnedPair
	// learned is signalled (without blocking) when a pair is new.
	learned chan struct{}
	// listToken is the direct-list token (envoy.FastPath.ListToken):
	// Envoy's direct route sets it, the sidecars check it.
	listToken string
	// sessions opens 2025-era clients' session ids: Envoy gets its keys
	// to open them itself (envoy.FastPath.SessionKeys), and the key that
	// signs relayed request ids (envoy.FastPath.RelayKey).
	sessions *clientsession.Sealer
	// module is the gateway's Envoy dynamic module (envoy.FastPath.Module;
	// "": the Lua filter decides).
	module string
}

func newFastPathPairs(sessions *clientsession.Sealer, module string) *fastPathPairs {
	return &fastPathPairs{pairs: map[fastPathPair]*learnedPair{}, learned: make(chan struct{}, 1), listToken: rand.Text(), sessions: sessions, module: module}
}

// learn records that owner's calls to up at protocol version may take
// the fast path: up took one without a session, at that version. What was
// learned of another connection under up's alias (the server changed
// since) is dropped.
func (f *fastPathPairs) learn(owner string, up *upstreams.Upstream, version string) {
	k := fastPathPair{owner, up.Alias}
	// Every routed call that needs no upstream session asks; almost
	// always the pair is known.
	f.mu.RLock()
	lp := f.pairs[k]
	known := lp != nil && lp.up == up && lp.versions[version]
	f.mu.RUnlock()
	if known {
		return
	}
	f.mu.Lock()
	lp = f.pairs[k]
	switch {
	case lp == nil && len(f.pairs) >= MaxFastPathPairs:
		f.mu.Unlock()
		return
	case lp == nil || !upstreams.SameConnection(lp.up, up):
		lp = &learnedPair{versions: map[string]bool{}}
		f.pairs[k] = lp
	}
	lp.up = up // the same connection, maybe of a newer config
	learned := !lp.versions[version]
	lp.versions[version] = true
	f.mu.Unlock()
	if learned {
		select {
		case f.learned <- struct{}{}:
		default:
		}
	}
}

// hasPairs reports whether a pair was learned (Envoy has grants to
// refresh).
func (f *fastPathPairs) hasPairs() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.pairs) > 0
}

// table is the envoy.FastPath of the pairs learned, with their grants as
// access computes them, for the servers of ups that the fast path can
// call (fastPathServer). Pairs whose key no longer authenticates are
// forgotten.
func (f *fastPathPairs) table(ctx context.Context, access *policy.Prepared, ups []*upstreams.Upstream, log *slog.Logger) *envoy.FastPath {
	cfg := access.Config()
	fp := &envoy.FastPath{KeyHeader: access.Keys().Header(), Separator: cfg.General.MCPToolPrefixSeparator,
		ValidUntil: time.Now().Add(FastPathTTL), ListToken: f.listToken, Module: f.module}
	if f.sessions != nil {
		fp.SessionKeys, fp.SessionTTL = f.sessions.MACKeys(), f.sessions.TTL()
		fp.RelayKey = f.sessions.RelayKeys()[0]
	}
	if ok, why := access.FastPathable(); !ok {
		log.Debug("fast path off", "reason", why)
		return fp
	}
	eligible := map[string]bool{}
	for _, u := range ups {
		eligible[u.Alias] = fastPathServer(u)
	}
	current := make(map[string]*upstreams.Upstream, len(ups))
	for _, u := range ups {
		current[u.Alias] = u
	}
	f.mu.RLock()
	pairs := make([]fastPathPair, 0, len(f.pairs))
	versions := make(map[fastPathPair][]string, len(f.pairs))
	var moved []fastPathPair
	for p, lp := range f.pairs {
		if !upstreams.SameConnection(lp.up, current[p.alias]) {
			// Learned of another connection (a late call to a
			// server that has changed since): learned again.
			moved = append(moved, p)
			continue
		}
		pairs = append(pairs, p)
		for v := range lp.versions {
			versions[p] = append(versions[p], v)
		}
		sort.Strings(versions[p])
	}
	f.mu.RUnlock()

	now := time.Now()
	byAlias := map[string]map[string]envoy.FastPathGrant{}
	gone := moved
	for _, p := range pairs {
		if !eligible[p.alias] {
			continue
		}
		d, err := identity.ParseDigest(p.owner)
		if err != nil {
			gone = append(gone, p)
			continue
		}
		g, ok, err := access.ToolGrant(ctx, d, p.alias, now)
		if err != nil {
			log.Warn("fast path: grant not computed; the key's calls take the full path", "server", p.alias, "error", err)
			continue
		}
		if !ok {
			gone = append(gone, p)
			continue
		}
		if byAlias[p.alias] == nil {
			byAlias[p.alias] = map[string]envoy.FastPathGrant{}
		}
		byAlias[p.alias][p.owner] = envoy.FastPathGrant{KeyAlias: g.KeyID, Team: g.Team, Org: g.Org, AnyTool: g.AnyTool, Tools: g.Tools, Deny: g.Deny, Params: g.Params,
			Versions: versions[p]}
	}
	if len(gone) > 0 {
		f.mu.Lock()
		for _, p := range gone {
			delete(f.pairs, p)
		}
		f.mu.Unlock()
	}
	aliases := make([]string, 0, len(byAlias))
	for a := range byAlias {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		fp.Servers = append(fp.Servers, envoy.FastPathServer{Alias: a, Grants: byAlias[a]})
	}
	return fp
}

// fastPathServer reports whether Envoy can send a call to u as the full
// path would without ext_proc: u has no credentials of its own (the full
// path would add them), so the call goes with the client's MCP headers
// only.
func fastPathServer(u *upstreams.Upstream) bool {
	c := u.Credentials
	return u.Routable() && c.Scheme == credentials.SchemeNone && len(c.Auth) == 0 && len(c.Static) == 0 && len(c.Extra) == 0 && c.Token == nil
}

// pushFastPath sends Envoy the grants of newly learned pairs, and all of
// them again every FastPathTTL/3 (their ValidUntil moves on), until ctx
// ends: each batch learned together goes in one route table update.
func (inst *Instance) pushFastPath(ctx context.Context, log *slog.Logger) {
	refresh := time.NewTicker(FastPathTTL / 3)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			if !inst.fast.hasPairs() {
				continue
			}
		case <-inst.fast.learned:
			select {
			case <-ctx.Done():
				return
			case <-time.After(fastPathDebounce):
			}
		}
		inst.applyMu.Lock()
		cur := inst.Current()
		err := inst.updateEnvoy(ctx, cur.Upstreams, cur.Access.Current())
		inst.applyMu.Unlock()
		if err != nil && ctx.Err() == nil {
			log.Warn("fast path: envoy update failed; calls take the full path", "error", err)
		}
	}
}

// liveDecider is a replica's ext_proc service deciding direct lists for
// its sidecar while the service runs (ctx: its serving context). Once the
// service has stopped, direct lists fail closed as every request through
// Envoy then does, though the decision could still be made in process:
// a gateway reports one state, not two.
type liveDecider struct {
	svc *extproc.Server
	ctx context.Context
}

func (d liveDecider) DecideDirect(w http.ResponseWriter, r *http.Request, body []byte) (bool, func(int)) {
	if d.ctx.Err() != nil {
		// As Envoy answers a request its ext_proc service cannot take
		// (its local reply for a 5xx, envoy/localreply.go).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write((&rpc.Error{Code: rpc.CodeInternalError, Message: "gateway error: ext_proc service not running"}).Response(nil))
		return false, nil
	}
	return d.svc.DecideDirect(w, r, body)
}
