package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/controlplane/admin"
	"github.com/mcpgw/mcpgw/controlplane/store"
	"github.com/mcpgw/mcpgw/controlplane/ui"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams/aggregate"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
	"github.com/mcpgw/mcpgw/upstreams/health"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// storeState is what a runtime opened with a store brings to Start: the
// store, the config file as loaded and the objects merged into it.
type storeState struct {
	store  controlplane.Store
	file   *config.Config
	stored Stored
	// parsed are the stored objects as Open parsed them, for the
	// follower's first merge to reuse.
	parsed *parsedObjects
}

// Open builds the runtime for a config file. With store_model_in_db it
// opens the database (creating or migrating its schema), merges the
// stored servers, keys, teams and organizations into the config, and the
// instance Start makes of it follows the store. A database that cannot
// be reached is an error: a gateway would otherwise start without the
// keys and servers its users expect.
func Open(ctx context.Context, file *config.Config, log *slog.Logger) (*Runtime, error) {
	if !file.Store.Enabled {
		return Build(file)
	}
	url := file.Store.DatabaseURL()
	st, err := store.Open(ctx, url, store.Options{EncryptionKey: file.Store.EncryptionKey, Logger: log.With("component", "store")})
	if err != nil {
		return nil, fmt.Errorf("store_model_in_db: database %s: %w", store.RedactURL(url), err)
	}
	stored, err := LoadStored(ctx, st, file)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("store_model_in_db: database %s: %w", store.RedactURL(url), err)
	}
	parsed := &parsedObjects{}
	merged, problems := merge(file, stored, parsed)
	for _, p := range problems {
		log.Warn(p)
	}
	rt, err := Build(merged)
	if err != nil {
		st.Close()
		return nil, err
	}
	rt.store = &storeState{store: st, file: file, stored: stored, parsed: parsed}
	log.Info("store opened", "database", store.RedactURL(url), "revision", stored.Revision,
		"servers", len(stored.Objects[controlplane.KindServer]), "keys", len(stored.Objects[controlplane.KindKey]))
	return rt, nil
}

// startControlPlane starts what follows and serves the store: it makes
// the follower (every change of the store or the config file is merged
// and applied; Start runs it once Envoy is ready), the admin API on a loopback listener (Envoy routes its paths
// there) and the health checker. It returns the admin API's address.
func (inst *Instance) startControlPlane(ctx context.Context, rt *Runtime, log *slog.Logger) (string, error) {
	var (
		st   controlplane.Store
		file = func() *config.Config { return inst.Current().Config }
	)
	if s := rt.store; s != nil {
		f := NewFollower(s.store, s.file, s.stored, inst.Apply, log.With("component", "store"))
		if s.parsed != nil {
			f.parsed = *s.parsed
		}
		inst.follower = f // Start runs it once Envoy is ready
		// A write answers once this process serves it; other replicas
		// follow the store within its poll interval (or at once, on
		// PostgreSQL's notification).
		st = refreshingStore{Store: s.store, refresh: func(ctx context.Context) {
			// Committed: apply it even if the client has gone.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
			defer cancel()
			f.Refresh(ctx)
		}}
		file = f.File
	}
	h, err := admin.New(admin.Options{
		Config: file,
		Store:  st,
		Kinds:  kindsOf(rt.Config.Store.Objects),
		// Read at start, like LiteLLM.
		StdioCommands: rt.Config.Store.StdioCommands,
		Keys:          keyChecker{inst},
		Tools:         toolLister{inst},
		Logger:        log.With("component", "admin_api"),
	})
	if err != nil {
		return "", err
	}
	// Writes through the UI are admin API writes: counted alike.
	api := inst.metrics.AdminAPI(h)
	// The UI's Try-it calls go through Envoy, as the REST facade's do.
	gwBase, gwClient := aggregate.GatewayClient(rt.GatewayURL)
	web, err := ui.New(ui.Options{API: api, Config: file, Logger: log, KeyTools: toolLister{inst}.ToolsOfKey,
		GatewayURL: gwBase, GatewayClient: gwClient,
		TestServer: serverTester{inst: inst, log: log}.TestServer, StdioCommands: rt.Config.Store.StdioCommands})
	if err != nil {
		return "", err
	}
	lis, err := listenLoopback(inst.Port)
	if err != nil {
		return "", err
	}
	inst.serve(func() error { return ServeHTTP(ctx, lis, withUI(api, web), "admin API", log) })

	// Health as discovery sees it (the first replica's sidecar keeps a
	// session with every server), recorded in the store for the admin
	// API's status, last_health_check and health_check_error.
	checker := &health.Checker{Observe: func() map[string]discovery.Health { return inst.Replicas[0].Sidecar.Health() }}
	inst.checker = checker
	if rt.store != nil {
		checker.Checked = func(ctx context.Context, alias string, r health.Result) {
			id := serverID(inst.Current().Config, alias)
			if id == "" {
				return
			}
			if err := rt.store.store.SetHealth(ctx, id, controlplane.Health{Status: string(r.Status), CheckedAt: r.CheckedAt, Error: r.Error}); err != nil {
				log.Debug("health not recorded", "server", alias, "err", err)
			}
		}
	}
	inst.serve(func() error { checker.Run(ctx); return nil })
	return lis.Addr().String(), nil
}

// withUI serves the web UI's paths (wellknown.UIPaths, which Envoy
// routes here like the admin API's) with ui and every other path with
// api.
func withUI(api, ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(wellknown.UIPaths, r.URL.Path) {
			ui.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// serverID is the id the admin API shows for the server with alias:
// server_id (stored servers always have one), else its name.
func serverID(cfg *config.Config, alias string) string {
	for _, s := range cfg.Servers {
		if s.Alias == alias {
			if s.ServerID != "" {
				return s.ServerID
			}
			return s.Name
		}
	}
	return ""
}

// kindsOf maps supported_db_objects to the kinds the admin API may
// write: nil (every kind) when unset; keys, teams and organizations
// always, servers when "mcp" is listed (as in LiteLLM).
func kindsOf(objects []string) []controlplane.Kind {
	if objects == nil {
		return nil
	}
	kinds := []controlplane.Kind{controlplane.KindKey, controlplane.KindTeam, controlplane.KindOrganization}
	if slices.Contains(objects, "mcp") {
		kinds = append(kinds, controlplane.KindServer)
	}
	return kinds
}

// refreshTimeout bounds applying a write before its answer; past it (or
// on any failure) the follower's Run retries the refresh with backoff.
const refreshTimeout = 10 * time.Second

// refreshingStore makes this process serve each write before the admin
// API answers it.
type refreshingStore struct {
	controlplane.Store
	refresh func(context.Context)
}

func (s refreshingStore) Create(ctx context.Context, o controlplane.Object, actor string) (controlplane.Object, error) {
	o, err := s.Store.Create(ctx, o, actor)
	if err == nil {
		s.refresh(ctx)
	}
	return o, err
}

func (s refreshingStore) Update(ctx context.Context, o controlplane.Object, actor string) (controlplane.Object, error) {
	o, err := s.Store.Update(ctx, o, actor)
	if err == nil {
		s.refresh(ctx)
	}
	return o, err
}

func (s refreshingStore) Delete(ctx context.Context, k controlplane.Kind, id, actor string) (bool, error) {
	deleted, err := s.Store.Delete(ctx, k, id, actor)
	if err == nil && deleted {
		s.refresh(ctx)
	}
	return deleted, err
}

// keyChecker authenticates gateway keys for the admin API with the
// policy engine MCP requests use, so a blocked or expired key is refused
// there too.
type keyChecker struct{ inst *Instance }

func (k keyChecker) CheckKey(_ context.Context, key string) (admin.Caller, bool) {
	rt := k.inst.Current()
	name := rt.Access.KeyHeader()
	p, err := rt.Access.Authenticate(func(h string) string {
		if h == name {
			return key
		}
		return ""
	})
	if err != nil || p == nil || p.Anonymous {
		return admin.Caller{}, false
	}
	return admin.Caller{Alias: p.ID, Token: p.Owner, Admin: p.Admin}, true
}

// toolLister answers the admin API's GET /v1/mcp/tools from the first
// replica's sidecar: its current catalog, filtered by the decision a
// tools/list on /mcp makes for the caller (what it sees it may call).
type toolLister struct{ inst *Instance }

func (l toolLister) ListTools(_ context.Context, c admin.Caller) ([]json.RawMessage, error) {
	tools, err := l.inst.Replicas[0].Sidecar.ToolsFor(c.Header)
	if err != nil {
		return nil, err
	}
	return marshalTools(tools)
}

// ToolsOfKey is ListTools for the stored key whose SHA-256 is token (the
// web UI's effective-access page knows no more of a key): the same
// sidecar decision, the principal found by token.
func (l toolLister) ToolsOfKey(_ context.Context, token string) ([]json.RawMessage, error) {
	tools, err := l.inst.Replicas[0].Sidecar.ToolsForToken(token)
	if err != nil {
		return nil, err
	}
	return marshalTools(tools)
}

func marshalTools(tools []*mcp.Tool) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(tools))
	for _, t := range tools {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		out = append(out, b)
	}
	return out, nil
}
