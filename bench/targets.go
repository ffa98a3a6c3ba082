package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/telemetry"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// alias is the upstream's name in the gateway config; tools appear as
// alias-tool through the gateway.
const alias = "demo"

// upstream is the demo MCP server (upstreams/demo) over Streamable HTTP on
// loopback, with the same handler options as demo.Handler(false), plus a
// receiving middleware that counts the initialize requests it gets.
type upstream struct {
	URL   string
	Inits atomic.Int64
	srv   *http.Server
	done  chan struct{}
}

// startUpstream serves the demo server, stateless or not.
func startUpstream(stateless bool) (*upstream, error) {
	s := demo.NewServer()
	u := &upstream{done: make(chan struct{})}
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "initialize" {
				u.Inits.Add(1)
			}
			return next(ctx, method, req)
		}
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: stateless, DisableLocalhostProtection: true})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u.srv = &http.Server{Handler: h}
	go func() {
		defer close(u.done)
		_ = u.srv.Serve(lis)
	}()
	u.URL = "http://" + lis.Addr().String() + "/mcp"
	return u, nil
}

func (u *upstream) Close() {
	_ = u.srv.Close()
	<-u.done
}

// Scenario (e)'s key and the master key its config needs (keys are only
// accepted with one). Not secrets: loopback, one run.
const (
	benchMasterKey = "sk-bench-master-0123456789abcdef0"
	benchCallerKey = "sk-bench-caller-0123456789abcdef0"
)

// runtimeFor builds the gateway runtime for a config with the one upstream.
// Scenarios (b), (c) and (d) render their Envoy config from the open one
// (withKey false: no key, every tool). withKey is scenario (e)'s: a
// master key, a team and a key that may call only echo
// (mcp_tool_permissions), on a server with allowed_tools and
// allowed_params set, so every call is checked against all of them.
func runtimeFor(upstreamURL string, withKey bool) (*gateway.Runtime, error) {
	return runtimeOf(upstreamURL, withKey, true)
}

// runtimeOf is runtimeFor with Envoy's fast path on or off
// (gateway.fast_path).
func runtimeOf(upstreamURL string, withKey, fastPath bool) (*gateway.Runtime, error) {
	// The decision log is on, as by default, but written to /dev/null:
	// its cost is measured, its lines do not flood the report.
	text := fmt.Sprintf(`mcp_servers:
  %s:
    url: %q
    transport: "http"
general_settings:
  mcp_tool_prefix_separator: "-"
access:
  decision_log: {output: "/dev/null"}
`, alias, upstreamURL)
	if withKey {
		text = keyedConfig(upstreamURL)
	}
	if !fastPath {
		text += "gateway:\n  fast_path: false\n"
	}
	cfg, err := configfile.Parse([]byte(text), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	rt, err := gateway.Build(cfg)
	if err != nil {
		return nil, err
	}
	if len(rt.Upstreams) != 1 {
		return nil, fmt.Errorf("config has %d upstreams, want 1", len(rt.Upstreams))
	}
	return rt, nil
}

// checkKeyEnforced shows that scenario (e) is not an open gateway before
// it is measured: without the key initialize is refused; with it, a tool
// the key may not call and an argument allowed_params does not list are
// refused, and the measured call (echo with text) is allowed.
func checkKeyEnforced(ctx context.Context, endpoint string, rt *gateway.Runtime, key http.Header) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	anon := rawSession{endpoint: endpoint, protocol: "2025-11-25", hc: http.DefaultClient}
	if _, err := anon.initialize(ctx); err == nil {
		anon.close(ctx)
		return fmt.Errorf("scenario (e): initialize without a key succeeded; the gateway is open")
	}
	s := rawSession{endpoint: endpoint, protocol: "2025-11-25", header: key, hc: http.DefaultClient}
	if _, err := s.initialize(ctx); err != nil {
		return fmt.Errorf("scenario (e): initialize with the key: %w", err)
	}
	defer s.close(context.WithoutCancel(ctx))
	for i, c := range []struct {
		tool    string
		args    map[string]any
		allowed bool
	}{
		{"echo", map[string]any{"text": echoText}, true},
		{"add", map[string]any{"a": 1, "b": 2}, false},                   // not in mcp_tool_permissions
		{"echo", map[string]any{"text": echoText, "extra": true}, false}, // not in allowed_params
	} {
		_, _, err := s.post(ctx, map[string]any{"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
			"params": map[string]any{"name": rt.Names.Prefix(alias, c.tool), "arguments": c.args}})
		if (err == nil) != c.allowed {
			return fmt.Errorf("scenario (e): tools/call %s %v: allowed %v, want %v (%v)", c.tool, c.args, err == nil, c.allowed, err)
		}
	}
	return nil
}

// keyedConfigFormat is scenario (e)'s config: alias, url, master key,
// caller key, then alias three times.
const keyedConfigFormat = `mcp_servers:
  %s:
    url: %q
    transport: "http"
    allowed_tools: [echo, add]
    allowed_params:
      echo: [text]
      add: [a, b]
general_settings:
  mcp_tool_prefix_separator: "-"
  master_key: %s
access:
  keys:
    - key_alias: bench-caller
      key: %s
      team_id: bench
      object_permission:
        mcp_servers: [%s]
        mcp_tool_permissions: {%s: [echo]}
  teams:
    - team_id: bench
      object_permission: {mcp_servers: [%s]}
  decision_log: {output: "/dev/null"}
`

// keyHeader is what scenario (e)'s clients send: the caller's key.
func keyHeader() http.Header {
	return http.Header{"X-Litellm-Api-Key": {"Bearer " + benchCallerKey}}
}

// target is where a scenario's clients connect and what they call.
type target struct {
	endpoint string
	tool     string
	header   http.Header // added to every request
	close    func()
	// spans, when set, says how many spans the scenario's OTLP sink got.
	spans func() string
	// admin is Envoy's admin address, for a gateway target.
	admin string
}

func directTarget(u *upstream) *target {
	return &target{endpoint: u.URL, tool: "echo", close: func() {}}
}

// startBaselineEnvoy runs Envoy on the gateway's generated config with the
// ext_proc filter left out (envoy.Params.NoExtProc). The route still picks
// the cluster from x-mcp-cluster, which the client sends itself, and the
// client uses the upstream's own path and unprefixed tool names. Envoy runs
// exactly as the gateway runs it (gateway.StartEnvoy: same flags, access
// log to a file). With mcpFilter it is scenario (d) instead: Envoy's own
// MCP filter and routes on its metadata (mcpFilterBootstrap), no header.
func startBaselineEnvoy(ctx context.Context, bin string, rt *gateway.Runtime, l *logs, mcpFilter bool) (tg *target, err error) {
	dir, err := os.MkdirTemp("", "mcpgw-bench-")
	if err != nil {
		return nil, err
	}
	var e *gateway.Envoy
	cleanup := func() {
		if e != nil {
			e.Stop()
		}
		_ = os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	up := rt.Upstreams[0]
	b, err := baselineBootstrap(rt, ports[0], filepath.Join(dir, "access.log"), mcpFilter)
	if err != nil {
		return nil, err
	}
	header := http.Header{http.CanonicalHeaderKey(wellknown.RouteHeader): {up.Cluster}}
	if mcpFilter {
		header = nil
	}
	yaml, err := envoy.ToYAML(b, "bench: Envoy without ext_proc")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(path, yaml, 0o600); err != nil {
		return nil, err
	}
	if e, err = gateway.StartEnvoy(bin, path, "warn", l); err != nil {
		return nil, err
	}
	readyCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.WaitReady(readyCtx); err != nil {
		return nil, err
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d%s", ports[0], up.Path())
	if mcpFilter {
		if err := checkMCPFilter(ctx, endpoint); err != nil {
			return nil, err
		}
	}
	return &target{
		endpoint: endpoint,
		tool:     "echo",
		header:   header,
		close:    cleanup,
	}, nil
}

// baselineBootstrap is scenario (b)'s Envoy bootstrap, or with mcpFilter
// scenario (d)'s.
func baselineBootstrap(rt *gateway.Runtime, port int, accessLog string, mcpFilter bool) (*bootstrapv3.Bootstrap, error) {
	b, err := envoy.Bootstrap(envoy.Params{
		ListenPort: port,
		// Rendered as clusters but never used without the filter.
		ExtProcAddress:      "127.0.0.1:9",
		SidecarAddress:      "127.0.0.1:9",
		Upstreams:           rt.Upstreams,
		MaxRequestBodyBytes: rt.Config.Gateway.MaxRequestBodyBytes,
		AccessLog:           accessLog,
		NoExtProc:           true,
	})
	if err != nil || !mcpFilter {
		return b, err
	}
	maxBody := rt.Config.Gateway.MaxRequestBodyBytes
	if maxBody == 0 {
		maxBody = envoy.DefaultMaxRequestBodyBytes
	}
	if err := mcpFilterBootstrap(b, rt.Upstreams[0], maxBody); err != nil {
		return nil, err
	}
	return b, nil
}

// gatewayBins are what the gateway runs: Envoy, and its dynamic module
// for the fast path ("": the Lua filter).
type gatewayBins struct{ envoy, module string }

func (o options) gatewayBins() gatewayBins { return gatewayBins{envoy: o.envoyBin, module: o.module} }

// startGateway runs the whole gateway (gateway.Start: ext_proc service,
// sidecar, real Envoy) at the config's default log level.
// header is sent with every request (scenario (e)'s key).
func startGateway(ctx context.Context, bin gatewayBins, rt *gateway.Runtime, l *logs, header http.Header) (*target, error) {
	return startGatewayWith(ctx, bin, rt, l, header, nil)
}

// startGatewayWith is startGateway with tracing (nil: off).
func startGatewayWith(ctx context.Context, bin gatewayBins, rt *gateway.Runtime, l *logs, header http.Header, tracing *telemetry.Tracing) (*target, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	if err := level.UnmarshalText([]byte(rt.Config.Gateway.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	inst, err := gateway.Start(ctx, rt, gateway.Options{
		EnvoyBin:       bin.envoy,
		FastPathModule: bin.module,
		Port:           ports[0],
		EnvoyOutput:    l,
		Logger:         slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level})),
		Tracing:        tracing,
	})
	if err != nil {
		return nil, err
	}
	if header != nil {
		if err := checkKeyEnforced(ctx, inst.Endpoint, rt, header); err != nil {
			_ = inst.Close()
			return nil, err
		}
	}
	return &target{
		endpoint: inst.Endpoint,
		tool:     rt.Names.Prefix(alias, "echo"),
		header:   header,
		close:    func() { _ = inst.Close() },
		admin:    inst.AdminAddr,
	}, nil
}

// startServerEndpointGateway runs the gateway of rt (scenario (e)'s
// config) for clients of the server's own endpoint, /demo/mcp, where tool
// names are the upstream's: scenarios (h) and (i). (h) must be served by
// Envoy's fast path at every version (the bench's upstream keeps no
// sessions): after one call through ext_proc (which teaches Envoy the
// key's grant at the client's version), calls must be counted on the
// fast route, or the scenario fails.
func startServerEndpointGateway(ctx context.Context, bin gatewayBins, rt *gateway.Runtime, l *logs, header http.Header, protocol string, wantFast bool) (*target, error) {
	tg, err := startGateway(ctx, bin, rt, l, header)
	if err != nil {
		return nil, err
	}
	tg.endpoint = strings.TrimSuffix(tg.endpoint, "/mcp") + "/" + alias + "/mcp"
	tg.tool = "echo"
	if wantFast {
		if err := checkFastPath(ctx, tg, protocol); err != nil {
			tg.close()
			return nil, err
		}
	}
	return tg, nil
}

// checkFastPath calls tg until Envoy's stats count calls on the fast
// route of the demo server (at most 10 s).
func checkFastPath(ctx context.Context, tg *target, protocol string) error {
	cl, err := openClients(ctx, tg, 1, protocol)
	if err != nil {
		return err
	}
	defer cl.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := cl.sessions[0].CallTool(ctx, &mcp.CallToolParams{Name: tg.tool, Arguments: map[string]any{"text": echoText}}); err != nil {
			return fmt.Errorf("fast path check: tools/call: %w", err)
		}
		if n, err := fastRouteCalls(ctx, tg.admin); err != nil {
			return err
		} else if n > 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("fast path check: no call was served by Envoy's fast path (vhost.mcpgw.route.fast_path_%s.upstream_rq_total stayed 0)", alias)
}

// fastRouteCalls reads Envoy's count of calls on the demo server's fast
// route.
func fastRouteCalls(ctx context.Context, admin string) (int, error) {
	return routeRequests(ctx, admin, "fast_path_"+alias)
}

// routeRequests reads Envoy's count of requests sent upstream on the
// route with stat prefix route (0 while it has none).
func routeRequests(ctx context.Context, admin, route string) (int, error) {
	name := "vhost.mcpgw.route." + route + ".upstream_rq_total"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/stats?filter=^"+name+"$", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), name+": %d", &n); err != nil {
		return 0, nil // not there yet: no fast route
	}
	return n, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var versionRE = regexp.MustCompile(`/(\d+\.\d+\.\d+)/`)

// envoyVersionOf asks the binary for its version (e.g. "1.40.0").
func envoyVersionOf(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v\n%s", bin, err, out)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: no version in %q", bin, bytes.TrimSpace(out))
	}
	return string(m[1]), nil
}

// logs collects Envoy's and the gateway's output (shown with -v on failure).
type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
