package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/telemetry"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

func cmdExtProc(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("extproc", stderr)
	cfgPath := fs.String("config", defaultConfig, "gateway config file")
	listen := fs.String("listen", "127.0.0.1:9002", "gRPC listen address")
	side := fs.String("sidecar", "127.0.0.1:9003", "address of the sidecar serving the adapter endpoints (stdio, sse, OpenAPI servers)")
	xdsListen := fs.String("xds-listen", "", "also serve Envoy's upstream clusters and routes over ADS (delta xDS) on this address, for a bootstrap rendered with envoy-config -xds (default: off)")
	opsListen := opsListenFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr, "info")
	rt, err := loadRuntime(*cfgPath, log, gateway.WithAdapterEndpoints(*side))
	if err != nil {
		return err
	}
	tracing, stopTracing, err := startTracing(ctx, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	ops := gateway.NewExtProcOps(rt, log)
	svc, pool := gateway.NewExtProc(rt, log, append(gateway.ExtProcTracing(tracing), extproc.WithMetrics(ops.Metrics))...)
	defer pool.Close()
	ops.Metrics.UpstreamSessions(pool.Len)
	stopOps, err := startOps(ctx, *opsListen, ops, log)
	if err != nil {
		return err
	}
	defer stopOps()
	go pool.Run(ctx)
	go gateway.WatchAccess(ctx, rt, log)
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ops.Serving(lis.Addr())
	// The xDS server, when asked for, lives and dies with the ext_proc
	// service: one process.
	g, gctx := errgroup.WithContext(ctx)
	if *xdsListen != "" {
		xdsLis, err := net.Listen("tcp", *xdsListen)
		if err != nil {
			lis.Close()
			return err
		}
		g.Go(func() error { return gateway.ServeXDS(gctx, xdsLis, rt, log) })
	}
	g.Go(func() error {
		return gateway.ServeExtProc(gctx, lis, svc, rt.Config.Gateway.MaxRequestBodyBytes, log)
	})
	return g.Wait()
}

func cmdSidecar(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("sidecar", stderr)
	cfgPath := fs.String("config", defaultConfig, "gateway config file")
	listen := fs.String("listen", "127.0.0.1:9003", "HTTP listen address")
	opsListen := opsListenFlag(fs)
	gatewayURL := fs.String("gateway", "", "the gateway's listener (Envoy) as this sidecar reaches it, for legacy HTTP+SSE clients and the REST facade: a URL, or unix:<path> for Envoy's internal socket (envoy-config -internal-socket; needed when the listener speaks TLS) (default http://127.0.0.1:<gateway.port>)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr, "info")
	// This sidecar serves the adapter endpoints, and its discovery reaches
	// them at its own address.
	rt, err := loadRuntime(*cfgPath, log, gateway.WithAdapterEndpoints(*listen))
	if err != nil {
		return err
	}
	if *gatewayURL != "" {
		rt.GatewayURL = *gatewayURL
	}
	// The operations listener serves from the start: probes get "first
	// discovery not done" rather than a refused connection meanwhile.
	ops := gateway.NewSidecarOps(rt, log)
	stopOps, err := startOps(ctx, *opsListen, ops, log)
	if err != nil {
		return err
	}
	defer stopOps()
	warnPreflight(ctx, rt, log)
	adapters, err := gateway.NewAdapters(rt, log)
	if err != nil {
		return err
	}
	side, err := gateway.NewSidecar(rt, log, adapters)
	if err != nil {
		if adapters != nil {
			adapters.Close()
		}
		return err
	}
	defer side.Close()
	ops.Metrics.DiscoveryFailures(side.DiscoveryFailures)
	go gateway.WatchAccess(ctx, rt, log)
	// Closing the sidecar ends client GET streams, which would otherwise
	// hold the HTTP server's shutdown.
	context.AfterFunc(ctx, func() { side.Close() })
	if err := side.Start(ctx); err != nil {
		return err
	}
	ops.Started()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	ops.Serving(lis.Addr())
	tracing, stopTracing, err := startTracing(ctx, log)
	if err != nil {
		lis.Close()
		return err
	}
	defer stopTracing()
	return gateway.ServeHTTP(ctx, lis, tracing.MCPHandler("sidecar", side.Handler()), "sidecar", log)
}

// opsListenFlag is the operations listener's flag of the separate
// components (gateway.ops_address of mcpgw run). Off by default: a fixed
// default port could collide with another component on the same host, a
// free port cannot be scraped, and probes from outside (kubelet, a
// container healthcheck on another address) need a non-loopback address
// anyway, so every deployment names one.
func opsListenFlag(fs *flag.FlagSet) *string {
	return fs.String(strings.TrimPrefix(gateway.OpsListenFlag, "-"), "", "serve the operations listener (/healthz, /readyz, /metrics; unauthenticated, no secrets) on this address, e.g. 0.0.0.0:9090 in a container (default: off)")
}

// startOps serves ops on addr until the returned stop is called (or ctx
// ends); addr "" serves nothing.
func startOps(ctx context.Context, addr string, ops *gateway.ComponentOps, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	lis, err := gateway.ListenComponentOps(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ops.Serve(ctx, lis); err != nil {
			log.Error("operations listener", "error", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

func cmdDemo(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("demo-server", stderr)
	listen := fs.String("listen", "127.0.0.1:4100", "HTTP listen address")
	stateless := fs.Bool("stateless", false, "serve without MCP sessions")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	return gateway.ServeHTTP(ctx, lis, demo.Handler(*stateless), "demo MCP server", newLogger(stderr, "info"))
}

func cmdEnvoyConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("envoy-config", stderr)
	cfgPath := fs.String("config", defaultConfig, "gateway config file")
	ext := fs.String("extproc", "127.0.0.1:9002", "address of the ext_proc service")
	side := fs.String("sidecar", "127.0.0.1:9003", "address of the adapter sidecar")
	xdsAddr := fs.String("xds", "", "address of the xDS server (mcpgw extproc -xds-listen) Envoy takes the upstream clusters and routes from, so they follow the server list without a restart (default: none, they are written into the bootstrap)")
	port := fs.Int("port", 0, "listener port (default: gateway.port from the config)")
	adminPort := fs.Int("admin-port", 0, "Envoy admin port (default: gateway.admin_address's port, else 9901)")
	outPath := fs.String("o", "", "write to this file instead of standard output")
	secretsDir := fs.String("secrets-dir", "", "with gateway.tls_cert_file: the directory the listener's SDS files are written to, which Envoy must see at the same path (default: the directory of -o)")
	internalSocket := fs.String("internal-socket", "", "also serve the listener's routes in plain HTTP on this Unix socket (absolute path, mode 0600), for a sidecar on the same host started with -gateway unix:<path>: with gateway.tls_cert_file the sidecar's requests back into the gateway (legacy HTTP+SSE clients, the REST facade) need it (default: none)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Adapted servers get clusters to the (first) sidecar's adapter
	// endpoints.
	rt, err := loadRuntime(*cfgPath, newLogger(stderr, "warn"), gateway.WithAdapterEndpoints(strings.Split(*side, ",")[0]))
	if err != nil {
		return err
	}
	p := envoyParams(rt, *port, *adminPort, *ext, *side, "")
	p.InternalSocket = *internalSocket
	// Envoy traces to the collector the OTEL_* variables name, as the
	// ext_proc service started with the same variables does.
	tcfg, err := telemetry.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	p.Tracing = gateway.EnvoyTracing(tcfg)
	if *xdsAddr != "" {
		p.XDSAddress, p.Upstreams = *xdsAddr, nil
	}
	if g := rt.Config.Gateway; g.TLSCertFile != "" {
		// Envoy reads the certificate files itself (and again when they
		// are replaced) through SDS files next to its bootstrap; the
		// config's paths must be where that Envoy sees the files.
		dir := *secretsDir
		if dir == "" && *outPath != "" {
			dir = filepath.Dir(*outPath)
		}
		if dir == "" {
			return fmt.Errorf("gateway.tls_cert_file is set: pass -o or -secrets-dir for the listener's SDS files")
		}
		if err := gateway.ListenerTLSParams(&p, g, dir); err != nil {
			return err
		}
		if err := gateway.WriteSecretFiles(p); err != nil {
			return err
		}
	}
	out, err := envoy.Render(p)
	if err != nil {
		return err
	}
	if *outPath != "" {
		return os.WriteFile(*outPath, out, 0o644)
	}
	_, err = stdout.Write(out)
	return err
}

// envoyParams are the bootstrap settings for an Envoy someone else runs:
// its admin port must be known in advance, so a port left to the kernel
// (gateway.admin_address unset or with port 0) becomes 9901.
func envoyParams(rt *gateway.Runtime, port, adminPort int, ext, side, accessLog string) envoy.Params {
	g := rt.Config.Gateway
	if port == 0 {
		port = g.Port
	}
	adminAddr := ""
	if g.AdminAddress.IsValid() {
		adminAddr = g.AdminAddress.Addr().String()
		if adminPort == 0 {
			adminPort = int(g.AdminAddress.Port())
		}
	}
	if adminPort == 0 {
		adminPort = defaultAdminPort
	}
	return envoy.Params{
		ListenAddress:       g.BindAddress,
		ListenPort:          port,
		AdminAddress:        adminAddr,
		AdminPort:           adminPort,
		ExtProcAddress:      ext,
		SidecarAddress:      side,
		Upstreams:           rt.Upstreams,
		MaxRequestBodyBytes: rt.Config.Gateway.MaxRequestBodyBytes,
		RequestTimeout:      rt.Config.Gateway.RequestTimeout,
		AccessLog:           accessLog,
	}
}

// defaultAdminPort is Envoy's usual admin port, for rendered bootstraps.
const defaultAdminPort = 9901

// envoyBinary is the Envoy to run: the flag, then $ENVOY_BIN, then PATH.
func envoyBinary(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := os.Getenv("ENVOY_BIN"); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("no Envoy binary: pass -envoy or set ENVOY_BIN (make run does this)")
}

// moduleFile is the file name of the gateway's Envoy dynamic module
// (envoy/module), as make build names it beside bin/mcpgw.
const moduleFile = "libmcpgw_fast_path.so"

// fastPathModule is the Envoy dynamic module the fast path decides in:
// the flag's file ("none": no module, Envoy's Lua filter decides), else
// $MCPGW_FAST_PATH_MODULE, else moduleFile beside this program when it is
// there. A file named that does not exist is an error, not a quiet
// fallback to the slower engine.
func fastPathModule(flagValue string) (string, error) {
	v := flagValue
	if v == "" {
		v = os.Getenv("MCPGW_FAST_PATH_MODULE")
	}
	switch v {
	case "none":
		return "", nil
	case "":
		exe, err := os.Executable()
		if err != nil {
			return "", nil
		}
		p := filepath.Join(filepath.Dir(exe), moduleFile)
		if _, err := os.Stat(p); err != nil {
			return "", nil
		}
		return p, nil
	}
	abs, err := filepath.Abs(v)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("fast path module: %w (build it with make build, or pass -fast-path-module none)", err)
	}
	return abs, nil
}
