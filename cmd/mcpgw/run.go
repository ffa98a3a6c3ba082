package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"

	"github.com/mcpgw/mcpgw/gateway"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// cmdRun starts the whole gateway: the ext_proc service and the sidecar in
// this process on loopback, Envoy in front of them as a child, and, when
// asked, the demo MCP server the default config points at.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	cfgPath := fs.String("config", defaultConfig, "gateway config file")
	port := fs.Int("port", 0, "listener port (default: gateway.port from the config, 4000)")
	adminPort := fs.Int("admin-port", 9901, "Envoy admin port (127.0.0.1 only)")
	envoyFlag := fs.String("envoy", "", "Envoy binary (default $ENVOY_BIN)")
	demoAddr := fs.String("demo", "", "also serve the demo MCP server on this address (e.g. 127.0.0.1:4100)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (default: gateway.log_level)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bin, err := envoyBinary(*envoyFlag)
	if err != nil {
		return err
	}
	log := newLogger(stderr, "info")
	rt, err := loadRuntime(*cfgPath, log)
	if err != nil {
		return err
	}
	level := rt.Config.Gateway.LogLevel
	if *logLevel != "" {
		level = *logLevel
	}
	log = newLogger(stderr, level)

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

	inst, err := gateway.Start(ctx, rt, gateway.Options{
		EnvoyBin:    bin,
		Port:        *port,
		AdminPort:   *adminPort,
		AccessLog:   "/dev/stdout",
		EnvoyStdout: stdout,
		EnvoyOutput: stderr,
		Logger:      log,
	})
	if err != nil {
		return err
	}
	defer inst.Close()
	printBanner(stdout, rt, inst.Port)
	err = inst.Wait(ctx)
	log.Info("shutting down")
	return err
}

// printBanner tells the user where the gateway is and what to paste into
// an MCP client.
func printBanner(w io.Writer, rt *gateway.Runtime, port int) {
	endpoint := fmt.Sprintf("http://localhost:%d/mcp", port)
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
	fmt.Fprintf(w, "\n\nClient config (Cursor .cursor/mcp.json, Claude Code .mcp.json, VS Code):\n%s\n", clientCfg.String())
	keyFlag := ""
	for name, value := range headers {
		keyFlag = fmt.Sprintf(" --header %q", name+": "+value)
	}
	fmt.Fprintf(w, "Try it:\n  npx -y -p @modelcontextprotocol/inspector-cli@1.0.3 mcp-inspector-cli --cli %s --transport http --method tools/list%s\n\n", endpoint, keyFlag)
	fmt.Fprintf(w, "Envoy's access log follows. Ctrl-C stops everything.\n\n")
}
