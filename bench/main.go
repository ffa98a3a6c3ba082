// Command bench measures MCP tools/call latency and throughput through
// these set-ups in one run, all on loopback with the same upstream:
//
//	(a) upstream: the demo MCP server (go-sdk Streamable HTTP), called directly
//	(b) envoy:    Envoy with the gateway's generated config, ext_proc left out
//	              (envoy.Params.NoExtProc); the client sets x-mcp-cluster itself
//	(d) envoy+mcp: the same Envoy with its own envoy.filters.http.mcp filter
//	              and routes on its metadata, no policy (mcpfilter.go)
//	(c) gateway:  the whole gateway (gateway.Start, real Envoy, ext_proc,
//	              sidecar); the client calls demo-echo on the aggregated /mcp
//	(e) gateway with a key: (c) with a key limited to one tool, on a server
//	              with allowed_tools and allowed_params
//	(f) LiteLLM:  the LiteLLM proxy's MCP gateway (-litellm; make bench-litellm)
//
// then tools/list from cache, 10,000 open client sessions' memory
// (sessions.go) and the control plane.
//
// Run it with `make bench` (or ENVOY_BIN=... go run ./bench). See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	duration    time.Duration
	rounds      int // the measured time of each row is split into this many slices, interleaved with the other rows'
	warmup      time.Duration
	concurrency []int
	envoyBin    string
	verbose     bool
	protocol    string   // the version of the scenarios being run
	protocols   []string // every version to run them at
	// listDuration and listWarmup time the tools/list scenario (0: skip it).
	listDuration   time.Duration
	listWarmup     time.Duration
	calls          bool   // run the tools/call scenarios
	rows           string // which tools/call scenarios, by key ("abcde")
	sessions       int    // open client sessions of the memory scenario (0: skip it)
	mcpgwBin       string // the mcpgw binary the memory scenario runs
	module         string // the gateway's Envoy dynamic module ("": Lua)
	litellmBin     string // the LiteLLM proxy's executable, for scenario f
	litellmVersion string // " 1.2.3", for the report ("" unknown)
	cpuProfile     string // write a CPU profile of the whole run here
	cp             cpOptions
}

func main() { os.Exit(benchMain()) }

// benchMain runs the benchmark and returns the exit code (so deferred
// work, like finishing a CPU profile, runs on every path).
func benchMain() int {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -cpuprofile:", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opts)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		fmt.Fprintln(os.Stderr, "bench: interrupted; everything it started is stopped")
		return 130
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.DurationVar(&o.duration, "duration", 7*time.Second, "measured time per scenario and concurrency level")
	fs.IntVar(&o.rounds, "rounds", 5, "tools/call: measure each row in this many slices, taken in turn with the other rows' (all set-ups run at once), so that a machine's slow drifts hit every row alike")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each measurement (calls not counted)")
	conc := fs.String("concurrency", "1,16", "comma-separated concurrency levels (one client session per worker)")
	fs.StringVar(&o.envoyBin, "envoy", os.Getenv("ENVOY_BIN"), "Envoy binary (default $ENVOY_BIN)")
	fs.BoolVar(&o.verbose, "v", false, "print progress and, on failure, Envoy and gateway logs")
	fs.DurationVar(&o.listDuration, "list-duration", 5*time.Second, "measured time per concurrency level of the tools/list scenario (0 skips it)")
	fs.DurationVar(&o.listWarmup, "list-warmup", time.Second, "warm-up before each tools/list measurement")
	fs.BoolVar(&o.calls, "calls", true, "run the tools/call scenarios (-calls=false: only tools/list)")
	fs.StringVar(&o.rows, "rows", "abcdehig", "tools/call scenarios to run, by letter: a upstream, b Envoy, c gateway, d Envoy + MCP filter, e gateway with a key, h the same on the server's own endpoint (Envoy's fast path), i h with fast_path: false, f LiteLLM proxy (needs -litellm), g gateway with tracing (OTLP to a sink in this process)")
	fs.StringVar(&o.litellmBin, "litellm", "", "the LiteLLM proxy's litellm executable, for row f (make bench-litellm installs a pinned one)")
	fs.IntVar(&o.sessions, "sessions", 10000, "client sessions the memory scenario opens through a separate `mcpgw run` (0 skips it)")
	fs.StringVar(&o.module, "fast-path-module", "", `the gateway's Envoy dynamic module, in which the fast path decides (make bench passes bin/libmcpgw_fast_path.so; "": Envoy's Lua filter)`)
	fs.StringVar(&o.mcpgwBin, "mcpgw", "", "the mcpgw binary of the memory scenario (default: ./cmd/mcpgw built into a temporary directory)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (load generator, demo upstream and the gateway's Go side) to this file")
	cpScenarios := fs.String("controlplane", "visible,scale", "control-plane scenarios to run: visible (write to visible on two replicas), scale (10,000 keys, 1,000 servers); \"\" runs none")
	cpStores := fs.String("cp-stores", "sqlite,postgres", "stores of the visible scenario (postgres: $MCPGW_POSTGRES_URL, else scripts/ensure-postgres.sh)")
	fs.StringVar(&o.cp.scaleStore, "cp-scale-store", "sqlite", "store of the scale scenario: sqlite or postgres")
	fs.IntVar(&o.cp.writes, "cp-writes", 50, "key generations (then as many deletes) timed per store in the visible scenario")
	fs.IntVar(&o.cp.keys, "cp-keys", 10000, "keys in the store in the scale scenario")
	fs.IntVar(&o.cp.servers, "cp-servers", 1000, "servers in the store in the scale scenario")
	fs.DurationVar(&o.cp.callWindow, "cp-call-duration", 5*time.Second, "measured tools/call window per gateway in the scale scenario")
	// Each version runs every scenario, so rows compare like with like: a
	// 2026-07-28 client reaches the stateful demo upstream directly at
	// 2025-11-25 (go-sdk falls back) but the gateway at 2026-07-28 (a
	// translated call on a leased upstream session).
	protocols := fs.String("protocol", "2025-11-25,2026-07-28", "comma-separated MCP protocol versions the clients ask for; the tools/call scenarios run once per version")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for v := range strings.SplitSeq(*protocols, ",") {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(o.protocols, v) {
			o.protocols = append(o.protocols, v)
		}
	}
	if len(o.protocols) == 0 {
		return o, fmt.Errorf("-protocol: no version given")
	}
	o.protocol = o.protocols[0] // tools/list runs at the first
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.listDuration < 0 || o.listWarmup < 0 {
		return o, fmt.Errorf("-list-duration and -list-warmup must not be negative")
	}
	if o.rounds < 1 {
		return o, fmt.Errorf("-rounds must be at least 1")
	}
	if o.duration <= 0 {
		return o, fmt.Errorf("-duration must be positive")
	}
	if o.warmup < 0 {
		return o, fmt.Errorf("-warmup must not be negative")
	}
	if strings.Trim(o.rows, "abcdefghi") != "" {
		return o, fmt.Errorf("-rows: %q has letters other than a to i", o.rows)
	}
	if strings.Contains(o.rows, "f") && o.litellmBin == "" {
		return o, fmt.Errorf("-rows f needs -litellm (make bench-litellm)")
	}
	if o.litellmBin != "" {
		// LiteLLM runs in a directory of its own.
		abs, err := filepath.Abs(o.litellmBin)
		if err != nil {
			return o, fmt.Errorf("-litellm: %w", err)
		}
		o.litellmBin = abs
	}
	if o.sessions < 0 {
		return o, fmt.Errorf("-sessions must not be negative")
	}
	seen := map[int]bool{}
	for f := range strings.SplitSeq(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1024 {
			return o, fmt.Errorf("-concurrency: %q is not a number in 1-1024", f)
		}
		if !seen[n] {
			seen[n] = true
			o.concurrency = append(o.concurrency, n)
		}
	}
	for f := range strings.SplitSeq(*cpScenarios, ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case "visible":
			o.cp.visible = true
		case "scale":
			o.cp.scale = true
		default:
			return o, fmt.Errorf("-controlplane: unknown scenario %q (visible, scale)", f)
		}
	}
	for f := range strings.SplitSeq(*cpStores, ",") {
		switch f = strings.TrimSpace(f); f {
		case "":
		case "sqlite", "postgres":
			if !slices.Contains(o.cp.stores, f) {
				o.cp.stores = append(o.cp.stores, f)
			}
		default:
			return o, fmt.Errorf("-cp-stores: unknown store %q (sqlite, postgres)", f)
		}
	}
	if o.cp.scaleStore != "sqlite" && o.cp.scaleStore != "postgres" {
		return o, fmt.Errorf("-cp-scale-store: unknown store %q (sqlite, postgres)", o.cp.scaleStore)
	}
	if o.cp.writes < 1 || o.cp.keys < 1 || o.cp.servers < 1 || o.cp.callWindow <= 0 {
		return o, fmt.Errorf("-cp-writes, -cp-keys and -cp-servers must be at least 1, -cp-call-duration positive")
	}
	if o.envoyBin == "" {
		return o, fmt.Errorf("no Envoy binary: set ENVOY_BIN=$(scripts/ensure-envoy.sh), pass -envoy, or run make bench")
	}
	return o, nil
}

// run sets up each scenario in turn, measures it at every concurrency
// level, tears it down, and prints the report.
func run(ctx context.Context, o options) error {
	maxConc := 0
	for _, c := range o.concurrency {
		maxConc = max(maxConc, c)
	}
	envoyVersion, err := envoyVersionOf(o.envoyBin)
	if err != nil {
		return err
	}
	// Stateless: go-sdk speaks MCP 2026-07-28 only so (older clients
	// still initialize; they get no session id).
	up, err := startUpstream(true)
	if err != nil {
		return err
	}
	defer up.Close()
	rt, err := runtimeFor(up.URL, false)
	if err != nil {
		return err
	}
	if o.litellmBin != "" {
		if v := litellmVersion(o.litellmBin); v != "" {
			o.litellmVersion = " " + v
		}
	}
	keyed, err := runtimeFor(up.URL, true)
	if err != nil {
		return err
	}
	keyedFull, err := runtimeOf(up.URL, true, false)
	if err != nil {
		return err
	}

	scenarios := []scenario{
		{key: "a", name: "(a) upstream direct", start: func(ctx context.Context, l *logs) (*target, error) {
			return directTarget(up), nil
		}},
		{key: "b", name: "(b) Envoy, no ext_proc", start: func(ctx context.Context, l *logs) (*target, error) {
			return startBaselineEnvoy(ctx, o.envoyBin, rt, l, false)
		}},
		{key: "c", name: "(c) gateway", start: func(ctx context.Context, l *logs) (*target, error) {
			return startGateway(ctx, o.gatewayBins(), rt, l, nil)
		}},
		{key: "d", name: "(d) Envoy + MCP filter", start: func(ctx context.Context, l *logs) (*target, error) {
			return startBaselineEnvoy(ctx, o.envoyBin, rt, l, true)
		}},
		{key: "e", name: "(e) gateway, key", start: func(ctx context.Context, l *logs) (*target, error) {
			return startGateway(ctx, o.gatewayBins(), keyed, l, keyHeader())
		}},
		{key: "h", name: "(h) gateway, key, server endpoint", start: func(ctx context.Context, l *logs) (*target, error) {
			return startServerEndpointGateway(ctx, o.gatewayBins(), keyed, l, keyHeader(), o.protocol, true)
		}},
		{key: "i", name: "(i) same, fast_path: false", start: func(ctx context.Context, l *logs) (*target, error) {
			return startServerEndpointGateway(ctx, o.gatewayBins(), keyedFull, l, keyHeader(), o.protocol, false)
		}},
		{key: "g", name: "(g) gateway, tracing", start: func(ctx context.Context, l *logs) (*target, error) {
			return startTracedGateway(ctx, o.gatewayBins(), rt, l)
		}},
		{key: "f", name: "(f) LiteLLM proxy", start: func(ctx context.Context, l *logs) (*target, error) {
			return startLiteLLM(ctx, o.litellmBin, up.URL, l)
		}},
	}
	scenarios = slices.DeleteFunc(scenarios, func(sc scenario) bool { return !strings.Contains(o.rows, sc.key) })
	progress := func(format string, args ...any) {
		if o.verbose {
			fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
		}
	}
	if !o.calls {
		scenarios = nil
	}
	perRow := o.warmup + o.duration + time.Duration(o.rounds-1)*sliceWarmup
	total := time.Duration(len(o.protocols)*len(scenarios)*len(o.concurrency))*perRow + 5*time.Second
	if o.listDuration > 0 {
		// Each version: the gateway's rows, then Envoy alone's.
		total += time.Duration(len(o.protocols)) * (2*time.Duration(len(o.concurrency))*(o.listWarmup+o.listDuration) + 10*time.Second)
	}
	// Rough: each write of the visible scenario takes about a poll
	// interval on SQLite and far less on PostgreSQL; the scale scenario
	// is dominated by filling the store and starting the big gateway.
	if o.cp.visible {
		total += time.Duration(len(o.cp.stores)) * (10*time.Second + time.Duration(o.cp.writes)*300*time.Millisecond)
	}
	if o.cp.scale {
		total += 2*(o.cp.callWindow+time.Second) + 40*time.Second
	}
	// Opening a session and its one call (which opens an upstream
	// session) take about 7 ms of this machine's two CPUs together.
	if o.sessions > 0 {
		total += time.Duration(o.sessions)*7*time.Millisecond + 5*time.Second
	}
	fmt.Fprintf(os.Stderr, "bench: %d protocol versions x %d tools/call scenarios x %d concurrency levels x (%v warm-up + %v measured in %d rounds), then tools/list, open sessions, the control plane; about %v in all\n",
		len(o.protocols), len(scenarios), len(o.concurrency), o.warmup, o.duration, o.rounds, total.Round(time.Second))

	results := map[string][]result{}
	for _, version := range o.protocols {
		o.protocol = version
		if len(scenarios) == 0 {
			continue
		}
		rs, err := runScenarios(ctx, scenarios, up, o, maxConc, progress)
		if err != nil {
			return fmt.Errorf("at %s: %w", version, err)
		}
		results[version] = rs
	}
	var lists []listResult
	if o.listDuration > 0 {
		for _, version := range o.protocols {
			o.protocol = version
			rs, err := runListScenario(ctx, o, progress)
			if err != nil {
				return fmt.Errorf("tools/list at %s: %w", version, err)
			}
			lists = append(lists, rs...)
		}
	}
	o.protocol = o.protocols[0]
	var sess *sessionReport
	if o.sessions > 0 {
		// Stateful: every client session's call holds an upstream session.
		stateful, err := startUpstream(false)
		if err != nil {
			return err
		}
		defer stateful.Close()
		if sess, err = runSessionScenario(ctx, o, stateful, progress); err != nil {
			return fmt.Errorf("open sessions: %w", err)
		}
	}
	var cp *cpReport
	if o.cp.visible || o.cp.scale {
		if cp, err = runControlPlane(ctx, o, o.cp, progress); err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
	}
	for _, version := range o.protocols {
		if rs := results[version]; len(rs) > 0 {
			o.protocol = version
			printReport(os.Stdout, o, envoyVersion, rs)
		}
	}
	printListReport(os.Stdout, lists)
	printSessionReport(os.Stdout, sess)
	printCPReport(os.Stdout, cp)
	return nil
}

// sliceWarmup warms up each slice after the first of a row: the row's
// sessions were idle while the other rows were measured.
const sliceWarmup = 250 * time.Millisecond

// running is one scenario's set-up, started once per protocol version.
type running struct {
	sc         scenario
	l          *logs
	tg         *target
	cl         *clients
	setupInits int64 // upstream initializes while its sessions opened
}

// runScenarios starts every scenario's set-up at once and opens maxConc
// sessions on each, then measures each concurrency level in o.rounds
// rounds: a round measures every scenario for o.duration/o.rounds in
// turn (the first after o.warmup, the others after sliceWarmup), so a
// shared machine's slow drifts (another tenant, CPU frequency) hit
// every row alike instead of whichever row ran at the time. A row's
// result is its slices together.
func runScenarios(ctx context.Context, scs []scenario, up *upstream, o options, maxConc int, progress func(string, ...any)) (out []result, err error) {
	var rs []*running
	defer func() {
		for _, r := range rs {
			if err != nil && ctx.Err() == nil && o.verbose && r.l.String() != "" {
				fmt.Fprintf(os.Stderr, "--- Envoy and gateway logs of %s ---\n%s\n", r.sc.name, r.l.String())
			}
			if r.cl != nil {
				r.cl.Close()
			}
			r.tg.close()
		}
	}()
	for _, sc := range scs {
		progress("%s: starting", sc.name)
		r := &running{sc: sc, l: &logs{}}
		if r.tg, err = sc.start(ctx, r.l); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		rs = append(rs, r)
		before := up.Inits.Load()
		if r.cl, err = openClients(ctx, r.tg, maxConc, o.protocol); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		r.setupInits = up.Inits.Load() - before
	}
	slice := o.duration / time.Duration(o.rounds)
	for i, n := range o.concurrency {
		agg := make([]result, len(rs))
		fastBefore := make([]int, len(rs))
		for j, r := range rs {
			agg[j] = result{scenario: r.sc.name, key: r.sc.key, concurrency: n}
			if i == 0 {
				agg[j].warmupInits = r.setupInits
			}
			fastBefore[j] = -1
			if r.tg.admin != "" {
				fastBefore[j], _ = fastRouteCalls(ctx, r.tg.admin)
			}
		}
		for round := range o.rounds {
			progress("tools/call: concurrency %d, round %d of %d", n, round+1, o.rounds)
			warm := sliceWarmup
			if round == 0 {
				warm = o.warmup
			}
			for j, r := range rs {
				start := up.Inits.Load()
				m, err := measure(ctx, r.tg, r.cl.sessions[:n], up, warm, slice)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", r.sc.name, err)
				}
				a := &agg[j]
				a.window += m.window
				a.latencies = append(a.latencies, m.latencies...)
				a.errors += m.errors
				if a.firstErr == nil {
					a.firstErr = m.firstErr
				}
				a.warmupInits += m.initsBefore - start
				a.initsAfter += m.initsAfter - m.initsBefore
			}
		}
		for j, r := range rs {
			a := &agg[j]
			slices.Sort(a.latencies)
			if fastBefore[j] >= 0 {
				// Warm-up calls included: a share, not a count of the window.
				after, _ := fastRouteCalls(ctx, r.tg.admin)
				a.fastCalls = after - fastBefore[j]
			}
			if r.tg.spans != nil {
				a.spans = r.tg.spans()
			}
			out = append(out, *a)
		}
	}
	return out, nil
}

type scenario struct {
	key   string
	name  string
	start func(context.Context, *logs) (*target, error)
}
