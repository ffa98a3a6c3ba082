package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/telemetry"
)

var errUsage = errors.New("usage")

const defaultConfig = "config.yaml"

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mcpgw "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// loadRuntime loads and validates the config, reports what it accepts but
// does not act on, and builds the runtime values.
func loadRuntime(path string, log *slog.Logger, opts ...gateway.BuildOption) (*gateway.Runtime, error) {
	cfg, err := loadConfig(path, log)
	if err != nil {
		return nil, err
	}
	if cfg.Store.Enabled {
		// Only `mcpgw run` follows the store for now; a component that
		// served the config file alone would disagree with the others.
		return nil, fmt.Errorf("%s: general_settings.store_model_in_db is served by `mcpgw run` only; the separate components read the config file alone", path)
	}
	return gateway.Build(cfg, opts...)
}

// loadConfig loads and validates the config and reports what it accepts
// but does not act on.
func loadConfig(path string, log *slog.Logger) (*config.Config, error) {
	cfg, err := configfile.Load(path, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	for _, p := range cfg.Warnings {
		log.Warn("config setting gives up a safe default", "path", p.Path, "line", p.Line, "detail", p.Message)
	}
	for _, p := range cfg.Unsupported {
		log.Warn("config setting not supported yet", "path", p.Path, "line", p.Line, "detail", p.Message)
	}
	for _, p := range cfg.Ignored {
		log.Info("config setting ignored", "path", p.Path, "line", p.Line, "detail", p.Message)
	}
	return cfg, nil
}

// warnPreflight logs what this machine says about the upstreams (see
// gateway.Preflight), as `mcpgw validate` prints it: the gateway starts
// anyway and serves the other servers.
func warnPreflight(ctx context.Context, rt *gateway.Runtime, log *slog.Logger) {
	for _, p := range gateway.Preflight(ctx, rt.Config, gateway.HostEnv{}) {
		log.Warn("upstream check", "path", p.Path, "line", p.Line, "detail", p.Message)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// startTracing sets up traces as the OTEL_* variables ask (off unless an
// OTLP endpoint or OTEL_TRACES_EXPORTER=otlp is set); stop exports what
// is left, within 5 s.
func startTracing(ctx context.Context, log *slog.Logger) (t *telemetry.Tracing, stop func(), err error) {
	cfg, err := telemetry.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, nil, err
	}
	if t, err = telemetry.Start(ctx, cfg); err != nil {
		return nil, nil, err
	}
	if t.Enabled() {
		log.Info("tracing", "protocol", cfg.Protocol, "service", cfg.ServiceName, "sampler", cfg.Sampler)
	}
	return t, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := t.Shutdown(sctx); err != nil {
			log.Warn("tracing: spans not exported at exit", "error", err)
		}
	}, nil
}
