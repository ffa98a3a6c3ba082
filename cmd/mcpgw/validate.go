package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/policy"
)

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: mcpgw validate FILE")
		return errUsage
	}
	path := fs.Arg(0)
	cfg, err := configfile.Load(path, os.LookupEnv)
	var probs config.Problems
	if errors.As(err, &probs) {
		fmt.Fprintln(stderr, probs.Error())
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", path, len(probs))
		return errUsage
	}
	if err != nil {
		return err
	}
	for _, p := range cfg.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", p)
	}
	for _, p := range cfg.Unsupported {
		fmt.Fprintf(stdout, "warning: %s\n", p)
	}
	for _, p := range cfg.Ignored {
		fmt.Fprintf(stdout, "note: %s\n", p)
	}
	// What this machine says about the upstreams; `mcpgw run` warns the same.
	for _, p := range gateway.Preflight(ctx, cfg, gateway.HostEnv{}) {
		fmt.Fprintf(stdout, "warning: %s\n", p)
	}
	// The listener's certificate and key load (mcpgw run refuses to
	// start otherwise).
	if err := gateway.CheckListenerTLS(cfg.Gateway); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	// The access policy compiles (shipped and access.policy_dir files).
	if _, err := policy.Prepare(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	fmt.Fprintf(stdout, "%s: ok (%d MCP servers)\n", path, len(cfg.Servers))
	return nil
}
