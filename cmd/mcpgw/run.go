package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mcpgw/mcpgw/controlplane/store"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// cmdRun starts the whole gateway: the ext_proc service and the sidecar in
// this process on loopback, Envoy in front of them as a child, and, when
// asked, the demo MCP server the default config points at.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	cfgPath := fs.String("config", defaultConfig, "gateway config file")
	port := fs.Int("port", 0, "listener port (default: gateway.port from the config, 4000)")
	adminAddr := fs.String("admin-address", "", "Envoy's admin interface, a loopback IP:port; port 0 picks a free one (default: gateway.admin_address, else a free port on 127.0.0.1)")
	envoyFlag := fs.String("envoy", "", "Envoy binary (default $ENVOY_BIN)")
	moduleFlag := fs.String("fast-path-module", "", `the gateway's Envoy dynamic module, in which Envoy's fast path decides (default $MCPGW_FAST_PATH_MODULE, else `+moduleFile+` beside this binary if there is one; "none": Envoy's Lua filter decides, at several times the cost)`)
	demoAddr := fs.String("demo", "", "also serve the demo MCP server on this address (e.g. 127.0.0.1:4100)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default: gateway.log_level)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bin, err := envoyBinary(*envoyFlag)
	if err != nil {
		return err
	}
	module, err := fastPathModule(*moduleFlag)
	if err != nil {
		return err
	}
	var admin netip.AddrPort
	if *adminAddr != "" {
		if admin, err = configfile.ParseAdminAddress(*adminAddr); err != nil {
			return fmt.Errorf("-admin-address %q: %v", *adminAddr, err)
		}
	}
	log := newLogger(stderr, "info")
	cfg, err := loadConfig(*cfgPath, log)
	if err != nil {
		return err
	}
	rt, err := gateway.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	level := rt.Config.Gateway.LogLevel
	if *logLevel != "" {
		level = *logLevel
	}
	log = newLogger(stderr, level)
	warnPreflight(ctx, rt, log)

	demoDone := make(chan error, 1)
	demoCtx, stopDemo := context.WithCancel(ctx)
	defer func() { stopDemo(); <-demoDone }()
	if *demoAddr != "" {
		lis, err := net.Listen("tcp", *demoAddr)
		if err != nil {
			demoDone <- nil
			return fmt.Errorf("demo server: %w", err)
		}
		// Stateless: go-sdk then speaks every protocol version, 2026-07-28
		// included, so no client's calls need translating.
		go func() { demoDone <- gateway.ServeHTTP(demoCtx, lis, demo.Handler(true), "demo MCP server", log) }()
	} else {
		demoDone <- nil
	}

	tracing, stopTracing, err := startTracing(ctx, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	inst, err := gateway.Start(ctx, rt, gateway.Options{
		Tracing:        tracing,
		EnvoyBin:       bin,
		FastPathModule: module,
		Port:           *port,
		AdminAddress:   admin,
		AccessLog:      "/dev/stdout",
		EnvoyStdout:    stdout,
		EnvoyOutput:    stderr,
		Logger:         log,
	})
	if err != nil {
		if ctx.Err() != nil {
			log.Info("interrupted while starting")
			return nil
		}
		return err
	}
	// Close stops Envoy and every component and removes the work
	// directory, whatever ended Wait: a signal, Envoy's death or a failed
	// component.
	defer inst.Close()
	printBanner(stdout, rt, inst.Port, inst.OpsAddr)
	if err := inst.Wait(ctx); err != nil {
		log.Error("stopping the gateway", "error", err)
		return err
	}
	// A stop signal: Envoy stops accepting and the calls in flight get
	// gateway.drain_timeout to finish (a second signal ends the process
	// at once). Close then stops everything.
	log.Info("shutting down")
	inst.Drain(context.WithoutCancel(ctx), inst.Current().Config.Gateway.DrainTimeout)
	return nil
}

// printBanner tells the user where the gateway is and what to paste into
// an MCP client.
func printBanner(w io.Writer, rt *gateway.Runtime, port int, opsAddr string) {
	scheme := "http"
	if rt.Config.Gateway.TLSCertFile != "" {
		scheme = "https"
	}
	endpoint := fmt.Sprintf("%s://%s/mcp", scheme, net.JoinHostPort(clientHost(rt.Config.Gateway.BindAddress), strconv.Itoa(port)))
	headers := map[string]string{}
	if g := rt.Config.General; g.MasterKeyHash != "" || len(rt.Config.Access.Keys) > 0 {
		// Keys are configured: every request needs one (never printed).
		headers[g.KeyHeaderName] = "Bearer <your gateway key>"
	}
	server := map[string]any{"url": endpoint, "headers": headers}
	var clientCfg bytes.Buffer
	enc := json.NewEncoder(&clientCfg)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(map[string]any{"mcpServers": map[string]any{"mcpgw": server}})
	fmt.Fprintf(w, "\nmcpgw is running (Envoy on port %d).\n\n", port)
	fmt.Fprintf(w, "  MCP endpoint: %s\n", endpoint)
	fmt.Fprintf(w, "  Servers:      ")
	for i, u := range rt.Upstreams {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%s (tools as %s)", u.Alias, rt.Names.Prefix(u.Alias, "<tool>"))
	}
	base := strings.TrimSuffix(endpoint, "/mcp")
	if st := rt.Config.Store; st.Enabled {
		fmt.Fprintf(w, "\n  Database:     %s (store_model_in_db: servers, keys, teams and organizations)", store.RedactURL(st.DatabaseURL()))
	}
	if rt.Config.General.MasterKeyHash != "" {
		fmt.Fprintf(w, "\n  Admin API:    %s/v1/mcp/server, %s/key/generate, ... with the master key (docs/admin-api.md)", base, base)
		fmt.Fprintf(w, "\n  Admin UI:     %s/ui (sign in with the master key; docs/ui.md)", base)
		names := make([]string, len(rt.Config.Servers))
		for i, s := range rt.Config.Servers {
			names[i] = strconv.Quote(s.Name)
		}
		fmt.Fprintf(w, "\n  Mint a key:   curl -s %s/key/generate -H \"Authorization: Bearer <master key>\" -d '{\"key_alias\": \"me\", \"object_permission\": {\"mcp_servers\": [%s]}}'", base, strings.Join(names, ", "))
	} else {
		fmt.Fprintf(w, "\n  Admin API:    off (set general_settings.master_key to use it)")
	}
	fmt.Fprintf(w, "\n  Operations:   http://%s/metrics, /metrics/envoy, /readyz, /healthz (gateway.ops_address)", opsAddr)
	fmt.Fprintf(w, "\n\nClient config (Cursor .cursor/mcp.json, Claude Code .mcp.json, VS Code):\n%s\n", clientCfg.String())
	keyFlag := ""
	for name, value := range headers {
		keyFlag = fmt.Sprintf(" --header %q", name+": "+value)
	}
	fmt.Fprintf(w, "Try it:\n  npx -y -p @modelcontextprotocol/inspector-cli@1.0.3 mcp-inspector-cli --cli %s --transport http --method tools/list%s\n\n", endpoint, keyFlag)
	fmt.Fprintf(w, "Envoy's access log follows. Ctrl-C stops everything.\n\n")
}

// clientHost is the host a client on this machine uses for a listener on
// bind: localhost for 0.0.0.0 and 127.0.0.1, else an address it listens
// on.
func clientHost(bind string) string {
	a, err := netip.ParseAddr(bind)
	switch {
	case err != nil, a.IsUnspecified() && a.Is4(), a == netip.AddrFrom4([4]byte{127, 0, 0, 1}):
		return "localhost"
	case a.IsUnspecified():
		return "::1" // Envoy's "::" listener takes IPv6 only
	}
	return a.String()
}
