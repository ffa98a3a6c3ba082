// Command mcpgw is the MCP gateway: one binary whose subcommands run the
// whole gateway (run) or one component each (extproc, sidecar,
// demo-server), render the Envoy config (envoy-config) and check a config
// file (validate).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `mcpgw: an MCP gateway built on Envoy

Usage:
  mcpgw run          [-config FILE] [-port N] [-admin-address A]
                     [-envoy BIN] [-demo ADDR]                             whole gateway, Envoy included
  mcpgw extproc      [-config FILE] [-listen ADDR] [-xds-listen ADDR]      ext_proc gRPC service only
                                                                           (and Envoy's xDS server)
  mcpgw sidecar      [-config FILE] [-listen ADDR]                         adapter sidecar only
  mcpgw demo-server  [-listen ADDR]                                        the demo MCP server
  mcpgw envoy-config [-config FILE] -extproc ADDR -sidecar ADDR [-xds ADDR]
                                                                           print the Envoy bootstrap
  mcpgw validate     FILE                                                  check a config file
  mcpgw probe        -http URL | -grpc ADDR                                container healthcheck: exit 0
                                                                           when healthy
`

func main() {
	// SIGHUP (the terminal went away) stops cleanly too: its default
	// action would leave the work directory behind. After the first
	// signal a second one has its default effect (exit at once).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"run":          cmdRun,
		"extproc":      cmdExtProc,
		"sidecar":      cmdSidecar,
		"demo-server":  cmdDemo,
		"envoy-config": cmdEnvoyConfig,
		"validate":     cmdValidate,
		"probe":        cmdProbe,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "mcpgw: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "mcpgw %s: %v\n", args[0], err)
		}
		return 1
	}
	return 0
}
