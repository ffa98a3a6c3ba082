package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/envoy/xds"
	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/internal/telemetry"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
	"github.com/mcpgw/mcpgw/upstreams/aggregate"
	"github.com/mcpgw/mcpgw/upstreams/health"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

// Options configure a whole-gateway Instance.
type Options struct {
	// EnvoyBin is the Envoy binary to run. Required.
	EnvoyBin string
	// Port is the listener port; zero means the config's gateway.port.
	Port int
	// AdminAddress is Envoy's admin interface (a loopback IP and port;
	// port 0 picks a free one); the zero value means the config's
	// gateway.admin_address.
	AdminAddress netip.AddrPort
	// AccessLog is where Envoy writes its access log; "" means a file in
	// the instance's work directory (see Instance.AccessLogPath).
	AccessLog string
	// EnvoyOutput receives Envoy's own log; nil discards it.
	EnvoyOutput io.Writer
	// EnvoyStdout receives what Envoy writes to its stdout (the access log
	// when AccessLog is /dev/stdout); nil means EnvoyOutput.
	EnvoyStdout io.Writer
	// EnvoyLogLevel is Envoy's --log-level; "" means warn.
	EnvoyLogLevel string
	// Logger receives the gateway's structured logs; nil discards them.
	Logger *slog.Logger
	// Replicas is how many ext_proc+sidecar pairs run behind the one
	// Envoy, balanced round robin with no stickiness; zero means one. More
	// than one is for testing that nothing depends on per-replica state.
	Replicas int
	// FastPathModule is the gateway's Envoy dynamic module (envoy/module,
	// built by make build beside bin/mcpgw): Envoy's fast path decides in
	// it. "" runs the same decision in Envoy's Lua filter, at several
	// times the cost.
	FastPathModule string
	// Tracing exports the ext_proc service's spans, and makes Envoy
	// trace to the same collector; nil or off means no tracing. The
	// caller shuts it down after Close.
	Tracing *telemetry.Tracing
}

// Replica is one ext_proc service and sidecar pair, sharing nothing with
// other replicas but the config.
type Replica struct {
	ExtProc  *extproc.Server
	Sessions *sessions.Pool
	Sidecar  *aggregate.Server
	// Adapters are the adapter endpoints this replica's sidecar serves:
	// the first replica's (every stdio, OpenAPI and legacy SSE server's,
	// possibly none yet); nil on the others.
	Adapters    *adapter.Set
	ExtProcAddr string
	SidecarAddr string

	// sidecarInFlight counts the sidecar's requests in flight other than
	// event streams, which a drain waits for.
	sidecarInFlight atomic.Int64
	// stopExtProc stops this replica's ext_proc service alone (tests of
	// what Envoy and /readyz make of a dead one).
	stopExtProc context.CancelFunc
	rt          *Runtime // what the replica runs now; replaced by Apply
}

// Instance is a running gateway: ext_proc service and sidecar on loopback
// in this process, Envoy in front of them as a child process.
type Instance struct {
	// Runtime is the first replica's runtime as the instance started;
	// Current is the one it runs now (Apply replaces it).
	Runtime  *Runtime
	Endpoint string // the aggregated MCP endpoint URL
	Port     int
	// AdminAddr is the address of Envoy's admin interface (host:port), as
	// the Envoy this instance started reports it.
	AdminAddr string
	// OpsAddr is the address of the operations listener (/healthz,
	// /readyz, /metrics), gateway.ops_address as bound.
	OpsAddr       string
	AccessLogPath string

	Replicas []*Replica

	envoy *Envoy
	// xds serves Envoy its upstream clusters and route table.
	xds *xds.Server
	log *slog.Logger
	// build are the options every runtime is built with (the adapter
	// endpoints).
	build buildOptions
	// applyMu serializes Apply; current is the first replica's runtime.
	applyMu sync.Mutex
	current atomic.Pointer[Runtime]
	// follower merges the config file with the store and applies the
	// result; nil without store_model_in_db.
	follower *Follower
	// checker records server health; Apply asks it for a round, so a new
	// server's health shows at once.
	checker *health.Checker
	// store is closed last; nil without store_model_in_db.
	store controlplane.Store
	// updateEnvoy gives Envoy a new set of upstream clusters and routes
	// (over xDS) for ups (as in Runtime.Upstreams: adapted servers bound
	// to the sidecar) and returns once Envoy has applied them, so a
	// change is routed when the caller answers; an error when Envoy
	// rejects them or has not applied them within EnvoyUpdateTimeout.
	updateEnvoy func(ctx context.Context, ups []*upstreams.Upstream, access *policy.Prepared) error
	// fast holds what Envoy's fast path learned; nil when it is off.
	fast *fastPathPairs
	// ops is what the operations listener reports.
	ops opsState
	// metrics are served on the operations listener (/metrics).
	metrics *metrics.Metrics
	// tracing is Options.Tracing.
	tracing *telemetry.Tracing
	dir     string
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	errc    chan error
	once    sync.Once
}

// EnvoyUpdateTimeout bounds waiting for Envoy to acknowledge new
// upstream clusters and routes. Envoy applies them in milliseconds; this
// long means it is stuck or gone.
const EnvoyUpdateTimeout = 5 * time.Second

// Start brings the whole gateway up and returns once Envoy is ready.
func Start(ctx context.Context, rt *Runtime, opts Options) (inst *Instance, err error) {
	if opts.EnvoyBin == "" {
		return nil, errors.New("gateway: no Envoy binary")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	inst = &Instance{Runtime: rt, cancel: cancel, errc: make(chan error, 4), log: log,
		metrics: metrics.New(rt.Config.Gateway.MetricsToolLabel), tracing: opts.Tracing}
	if rt.store != nil {
		inst.store = rt.store.store // closed by Close, also when Start fails
	}
	defer func() {
		if err != nil {
			inst.Close()
		}
	}()

	inst.Port = opts.Port
	if inst.Port == 0 {
		inst.Port = rt.Config.Gateway.Port
	}
	bindAddr := rt.Config.Gateway.BindAddress
	if bindAddr == "" {
		bindAddr = envoy.DefaultListenAddress
	}
	if err := CheckListenerTLS(rt.Config.Gateway); err != nil {
		return inst, err
	}
	// Envoy's listener refuses a served port too (no reuse_port), but
	// only after everything else has started, and with a terser message.
	if err := checkPortFree(bindAddr, inst.Port); err != nil {
		return inst, err
	}
	gatewayURL := "http://" + net.JoinHostPort(localHost(bindAddr), strconv.Itoa(inst.Port))
	dir, err := os.MkdirTemp("", "mcpgw-")
	if err != nil {
		return inst, err
	}
	inst.dir = dir
	// The sidecar's requests back into the gateway (legacy HTTP+SSE
	// clients' messages, the REST facade's calls) take Envoy's internal
	// socket when the listener speaks TLS: the sidecar holds no client
	// certificate, and the socket is this user's only.
	sidecarGatewayURL, internalSocket := gatewayURL, ""
	if rt.Config.Gateway.TLSCertFile != "" {
		internalSocket = filepath.Join(inst.dir, "gateway.sock")
		sidecarGatewayURL = "unix:" + internalSocket
	}
	// The operations listener serves first: probes get "starting" rather
	// than a refused connection while the rest comes up.
	opsLis, err := listenOps(rt.Config.Gateway.OpsAddress)
	if err != nil {
		return inst, err
	}
	inst.OpsAddr = opsLis.Addr().String()
	inst.serve(func() error { return serveOps(runCtx, opsLis, inst.opsHandler(), log) })

	var extAddrs, sideAddrs []string
	// The first replica's sidecar serves the adapter endpoints (stdio,
	// legacy SSE, OpenAPI servers). Its address is needed before the
	// runtimes are built: routers, Envoy's clusters, discovery and the
	// session pools reach adapted servers there.
	firstSide, err := listenLoopback(inst.Port)
	if err != nil {
		return inst, err
	}
	// Always bound: servers adapted by the sidecar may be added later
	// (Apply).
	bind := []BuildOption{WithAdapterEndpoints(firstSide.Addr().String())}
	for _, o := range bind {
		o(&inst.build)
	}
	if rt.HasAdapters() {
		opened := rt.store
		if rt, err = Build(rt.Config, bind...); err != nil {
			firstSide.Close()
			return inst, err
		}
		rt.store = opened
		inst.Runtime = rt
	}
	inst.current.Store(rt)
	// Envoy's fast path: off when asked, and when tracing is on (every
	// call then gets the gateway's span and its trace context in _meta).
	if !rt.Config.Gateway.DisableFastPath && !opts.Tracing.Enabled() {
		inst.fast = newFastPathPairs(rt.Sessions, opts.FastPathModule)
		engine := "module"
		if opts.FastPathModule == "" {
			engine = "lua"
		}
		log.Info("fast path on", "engine", engine, "module", opts.FastPathModule)
	}
	for i := range max(opts.Replicas, 1) {
		rlog := log
		if opts.Replicas > 1 {
			rlog = log.With("replica", i)
		}
		// Each replica builds its own runtime from the config, as a
		// separate process would (its own session keys when none are
		// configured, its own routers and pools).
		rrt := rt
		if i > 0 {
			if rrt, err = Build(rt.Config, bind...); err != nil {
				return inst, err
			}
		}
		rrt.GatewayURL = sidecarGatewayURL
		var sideLis net.Listener
		if i == 0 {
			sideLis = firstSide
		}
		r, err := inst.startReplica(runCtx, rrt, rlog, sideLis)
		if err != nil {
			return inst, err
		}
		extAddrs = append(extAddrs, r.ExtProcAddr)
		sideAddrs = append(sideAddrs, r.SidecarAddr)
	}

	inst.metrics.UpstreamSessions(func() int {
		if !inst.ops.started.Load() {
			return 0 // Replicas is still being filled
		}
		n := 0
		for _, r := range inst.Replicas {
			n += r.Sessions.Len()
		}
		return n
	})
	inst.metrics.DiscoveryFailures(func() map[string]uint64 {
		out := map[string]uint64{}
		if !inst.ops.started.Load() {
			return out
		}
		for _, r := range inst.Replicas {
			for alias, n := range r.Sidecar.DiscoveryFailures() {
				out[alias] += n
			}
		}
		return out
	})
	inst.metrics.TokenFetches(func() []metrics.TokenFetch {
		return tokenFetches(inst.Current())
	})
	admin := opts.AdminAddress
	if !admin.IsValid() {
		admin = rt.Config.Gateway.AdminAddress
	}
	if !admin.IsValid() {
		admin = netip.AddrPortFrom(netip.MustParseAddr(envoy.DefaultAdminAddress), 0)
	}
	inst.AccessLogPath = opts.AccessLog
	if inst.AccessLogPath == "" {
		inst.AccessLogPath = filepath.Join(inst.dir, "access.log")
	}
	// Envoy's upstream clusters and routes come over xDS, so servers can
	// change while it runs. The first snapshot is there before Envoy
	// starts, and Envoy's initialization waits for it.
	adminAPI, err := inst.startControlPlane(runCtx, rt, log)
	if err != nil {
		return inst, err
	}
	xdsLis, err := listenLoopback(inst.Port)
	if err != nil {
		return inst, err
	}
	inst.xds = xds.New(log.With("component", "xds"))
	inst.serve(func() error { return inst.xds.Serve(xdsLis) })
	updateEnvoy := func(ctx context.Context, ups []*upstreams.Upstream, access *policy.Prepared) (string, error) {
		p := routingParams(rt, ups)
		p.AdminAPIAddress = adminAPI
		if inst.fast != nil {
			p.FastPath = inst.fast.table(ctx, access, ups, log.With("component", "fast_path"))
		}
		return inst.xds.Update(ctx, p)
	}
	first, err := updateEnvoy(ctx, rt.Upstreams, rt.Access.Current())
	if err != nil {
		return inst, err
	}
	params := envoy.Params{
		ListenAddress:       bindAddr,
		ListenPort:          inst.Port,
		AdminAddress:        admin.Addr().String(),
		AdminPort:           int(admin.Port()),
		ExtProcAddress:      strings.Join(extAddrs, ","),
		SidecarAddress:      strings.Join(sideAddrs, ","),
		XDSAddress:          xdsLis.Addr().String(),
		AdminAPIAddress:     adminAPI,
		MaxRequestBodyBytes: rt.Config.Gateway.MaxRequestBodyBytes,
		RequestTimeout:      rt.Config.Gateway.RequestTimeout,
		AccessLog:           inst.AccessLogPath,
		InternalSocket:      internalSocket,
	}
	if inst.fast != nil {
		// The listener gets the fast path's filters; the grants come
		// with the routes.
		params.FastPath = &envoy.FastPath{Module: opts.FastPathModule}
	}
	if opts.Tracing.Enabled() {
		params.Tracing = EnvoyTracing(opts.Tracing.Config)
	}
	if err := listenerTLSParams(&params, rt.Config.Gateway, inst.dir); err != nil {
		return inst, err
	}
	if err := WriteSecretFiles(params); err != nil {
		return inst, err
	}
	bootstrap, err := envoy.Render(params)
	if err != nil {
		return inst, err
	}
	bootstrapPath := filepath.Join(inst.dir, "envoy.yaml")
	if err := os.WriteFile(bootstrapPath, bootstrap, 0o600); err != nil {
		return inst, err
	}
	out := opts.EnvoyOutput
	if out == nil {
		out = io.Discard
	}
	level := opts.EnvoyLogLevel
	if level == "" {
		level = "warn"
	}
	stdout := opts.EnvoyStdout
	if stdout == nil {
		stdout = out
	}
	if inst.envoy, err = StartEnvoyWith(opts.EnvoyBin, bootstrapPath, level, stdout, out); err != nil {
		return inst, err
	}
	readyCtx, readyCancel := context.WithTimeout(ctx, 30*time.Second)
	defer readyCancel()
	if err := inst.envoy.WaitReady(readyCtx); err != nil {
		return inst, err
	}
	// Ready means initialized, which Envoy also is after rejecting its
	// first clusters or routes.
	if err := inst.xds.WaitAcked(readyCtx, first); err != nil {
		return inst, err
	}
	// Under applyMu: an Apply already running (an admin write sent to
	// the admin API's own listener) must not read it half set. One that
	// ran since the first snapshot routed to servers Envoy was not told
	// of: it is told now.
	inst.applyMu.Lock()
	inst.updateEnvoy = func(ctx context.Context, ups []*upstreams.Upstream, access *policy.Prepared) error {
		v, err := updateEnvoy(ctx, ups, access)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, EnvoyUpdateTimeout)
		defer cancel()
		return inst.xds.WaitAcked(ctx, v)
	}
	var resync error
	if cur := inst.Current(); cur != rt {
		resync = inst.updateEnvoy(readyCtx, cur.Upstreams, cur.Access.Current())
	}
	inst.applyMu.Unlock()
	if inst.fast != nil {
		inst.serve(func() error { inst.pushFastPath(runCtx, log); return nil })
	}
	if resync != nil {
		return inst, resync
	}
	inst.AdminAddr = inst.envoy.AdminAddress()
	inst.Endpoint = gatewayURL + "/mcp"
	if rt.Config.Gateway.TLSCertFile != "" {
		inst.Endpoint = "https://" + strings.TrimPrefix(inst.Endpoint, "http://")
	}
	// Changes to the store, the config file (servers, access settings)
	// and policy files are applied without a restart, from now on: Envoy
	// takes the clusters they bring.
	if f := inst.follower; f != nil {
		inst.serve(func() error { f.Run(runCtx); return nil })
	}
	inst.serve(func() error { inst.watchConfig(runCtx); return nil })
	inst.ops.started.Store(true)
	log.Info("envoy ready", "listen", net.JoinHostPort(bindAddr, strconv.Itoa(inst.Port)), "admin", inst.AdminAddr, "ops", inst.OpsAddr, "pid", inst.envoy.PID())
	return inst, nil
}

// startReplica starts one ext_proc service and sidecar on loopback. The
// replica given its sidecar listener serves the adapter endpoints.
func (inst *Instance) startReplica(ctx context.Context, rt *Runtime, log *slog.Logger, sideLis net.Listener) (*Replica, error) {
	r := &Replica{rt: rt}
	epOpts := append(ExtProcTracing(inst.tracing), extproc.WithMetrics(inst.metrics))
	if inst.fast != nil {
		// The calls Envoy then decides reach the decision log and metrics
		// over Envoy's gRPC access log, served beside ext_proc; only with
		// the fast path on, so nothing else can write allow lines.
		epOpts = append(epOpts, extproc.WithFastPathLearner(inst.fast.learn), extproc.WithEnvoyDecisions(rt.Access))
	}
	r.ExtProc, r.Sessions = NewExtProc(rt, log, epOpts...)
	rt.Access.Observe(func(d policy.Decision) { inst.metrics.Decision(d.Allow, d.Hidden, d.Invalid) })
	inst.Replicas = append(inst.Replicas, r)
	inst.serve(func() error { r.Sessions.Run(ctx); return nil })
	extLis, err := listenLoopback(inst.Port)
	if err != nil {
		return nil, err
	}
	r.ExtProcAddr = extLis.Addr().String()
	extCtx, stopExtProc := context.WithCancel(ctx)
	r.stopExtProc = stopExtProc
	inst.serve(func() error {
		return ServeExtProc(extCtx, extLis, r.ExtProc, rt.Config.Gateway.MaxRequestBodyBytes, log)
	})
	var adapters *adapter.Set
	if sideLis != nil {
		// Even with no adapted servers yet: Apply may add some.
		if adapters, err = newAdapterSet(rt, log); err != nil {
			sideLis.Close()
			return nil, err
		}
		r.Adapters = adapters
	} else if sideLis, err = listenLoopback(inst.Port); err != nil {
		return nil, err
	}
	var direct aggregate.DirectDecider
	token := ""
	if inst.fast != nil {
		// Direct lists: the lists Envoy sends this sidecar without
		// ext_proc are decided by this replica's ext_proc service.
		direct, token = liveDecider{r.ExtProc, extCtx}, inst.fast.listToken
	}
	if r.Sidecar, err = newSidecar(rt, log, adapters, direct, token); err != nil {
		sideLis.Close()
		if adapters != nil {
			adapters.Close()
		}
		return nil, err
	}
	r.SidecarAddr = sideLis.Addr().String()
	inst.serve(func() error {
		return ServeHTTP(ctx, sideLis, countInFlight(&r.sidecarInFlight, inst.tracing.MCPHandler("sidecar", r.Sidecar.Handler())), "sidecar", log)
	})
	if err := r.Sidecar.Start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func (inst *Instance) serve(f func() error) {
	inst.wg.Go(func() {
		if err := f(); err != nil {
			select {
			case inst.errc <- err:
			default: // Wait reports one failure; that is enough
			}
		}
	})
}

// Wait blocks until ctx ends (nil), or Envoy exits or a component fails
// (an error saying which). Either way the caller then Closes the
// instance.
func (inst *Instance) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-inst.envoy.Done():
		if ctx.Err() != nil {
			return nil // stopping anyway
		}
		if err := inst.envoy.Err(); err != nil {
			return fmt.Errorf("envoy exited unexpectedly: %v", err)
		}
		return errors.New("envoy exited unexpectedly")
	case err := <-inst.errc:
		return err
	}
}

// Close stops Envoy first (no new requests), then its xDS server and the
// components.
func (inst *Instance) Close() error {
	inst.once.Do(func() {
		if inst.envoy != nil {
			inst.envoy.Stop()
		}
		if inst.xds != nil {
			inst.xds.Stop()
		}
		// Sidecars first: they end client GET streams, which would
		// otherwise hold their HTTP servers' shutdown.
		for _, r := range inst.Replicas {
			if r.Sidecar != nil {
				r.Sidecar.Close()
			}
		}
		inst.cancel()
		inst.wg.Wait()
		for _, r := range inst.Replicas {
			r.Sessions.Close()
		}
		if inst.store != nil {
			inst.store.Close()
		}
		if inst.dir != "" {
			os.RemoveAll(inst.dir)
		}
	})
	return nil
}

// listenLoopback listens on a free loopback port other than envoyPort,
// which Envoy has yet to bind (the kernel may hand it out meanwhile when
// it was picked as a free port).
func listenLoopback(envoyPort int) (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil || l.Addr().(*net.TCPAddr).Port != envoyPort {
		return l, err
	}
	defer l.Close() // held until another port is taken
	return net.Listen("tcp", "127.0.0.1:0")
}

// checkPortFree fails with a clear error when something already listens
// on bind:port. The probe binds without SO_REUSEPORT, as Envoy's
// listener does, and in the same address family.
func checkPortFree(bind string, port int) error {
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	network := "tcp4"
	if a, err := netip.ParseAddr(bind); err == nil && a.Is6() {
		network = "tcp6"
	}
	l, err := net.Listen(network, addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("listen address %s is already in use: another gateway or program serves port %d (stop it, or set another gateway.port)", addr, port)
	}
	if err != nil {
		return fmt.Errorf("listen address %s (gateway.bind_address, gateway.port): %w", addr, err)
	}
	return l.Close()
}

// localHost is the address a process on this machine reaches a listener
// bound to bind at: loopback for a wildcard address, else bind itself.
func localHost(bind string) string {
	a, err := netip.ParseAddr(bind)
	switch {
	case err != nil:
		return "127.0.0.1"
	case a.IsUnspecified() && a.Is6():
		return "::1"
	case a.IsUnspecified():
		return "127.0.0.1"
	}
	return a.String()
}
