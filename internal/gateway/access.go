package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/policy"
)

// buildAccess builds the access engine (keys, policy) from cfg. Every
// process builds its own from the same config, so the router (ext_proc)
// and the sidecar decide alike.
func buildAccess(cfg *config.Config) (*policy.Engine, error) {
	w, err := decisionLog(cfg.Access.DecisionLog.Output)
	if err != nil {
		return nil, err
	}
	e, err := policy.New(context.Background(), cfg, policy.Options{DecisionLog: w})
	if err != nil {
		return nil, fmt.Errorf("build access policy: %w", err)
	}
	return e, nil
}

// decisionLog opens access.decision_log.output: stderr, stdout, off, or a
// file appended to (kept open for the life of the process).
func decisionLog(out string) (io.Writer, error) {
	switch out {
	case "", "stderr":
		return os.Stderr, nil
	case "stdout":
		return os.Stdout, nil
	case "off":
		return nil, nil
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("access.decision_log.output: %w", err)
	}
	return f, nil
}

// WatchAccess reloads rt's access engine when the config file it was
// loaded from, or a policy file, changes, until ctx ends (see Watch).
func WatchAccess(ctx context.Context, rt *Runtime, log *slog.Logger) {
	Watch(ctx, rt.Access, ConfigSource{Path: rt.Config.Path, Env: os.LookupEnv, Running: rt.Config}, 0, log.With("component", "access"))
}
