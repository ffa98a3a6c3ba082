package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

// Source says where an engine's config comes from, so Watch can reload it.
type Source struct {
	// ConfigPath is the config file; "" means only the policy directory
	// is watched (with the config the engine was built from).
	ConfigPath string
	// Env resolves os.environ/ references on reload; nil means none.
	Env configfile.LookupEnv
	// Apply, when set, applies each loaded config to the whole gateway
	// (servers included, and this engine with them) instead of the
	// engine reloading its access settings alone; it reports what it
	// could not apply itself. An error keeps the running state.
	Apply func(ctx context.Context, cfg *config.Config) error
}

// DefaultWatchInterval is how often Watch looks for changes.
const DefaultWatchInterval = time.Second

// Watch reloads the engine whenever the config file or a policy file in
// access.policy_dir changes, until ctx ends. A broken config or policy is
// logged, each problem with its file and line, and the running version
// stays. With src.Apply, the loaded config goes to it (a running gateway
// applies servers live). Without, only the access settings of a changed
// config take effect (keys, teams, organizations, server tool and
// parameter rules); servers themselves and the gateway: block need a
// restart, which is logged as a warning naming the servers.
func (e *Engine) Watch(ctx context.Context, src Source, interval time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	// The config is compared with what it was when watching began, the
	// policy files with what the running version was built from.
	lastConfig := fingerprint(src.ConfigPath, "")
	lastPolicy := e.Current().print
	// A change is applied once the files hold still for one interval: an
	// editor or a script that truncates and then writes would otherwise
	// have a half-written file applied (an empty access: block revokes
	// every key until the next poll).
	var seenConfig, seenPolicy [sha256.Size]byte
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := e.Current()
		fc, fp := fingerprint(src.ConfigPath, ""), fingerprint("", cur.policyDir)
		if fc == lastConfig && fp == lastPolicy {
			continue
		}
		if fc != seenConfig || fp != seenPolicy {
			seenConfig, seenPolicy = fc, fp
			continue
		}
		lastConfig, lastPolicy = fc, fp
		if e.reloadFrom(ctx, src, cur, log) {
			// The new version may read another policy directory.
			lastPolicy = e.Current().print
		}
	}
}

// reloadFrom loads the config (if it has a file) and the policy and swaps
// them in; on failure it logs and keeps cur.
func (e *Engine) reloadFrom(ctx context.Context, src Source, cur *Prepared, log *slog.Logger) bool {
	if src.Apply != nil {
		next := cur.cfg
		if src.ConfigPath != "" {
			var err error
			if next, err = configfile.Load(src.ConfigPath, src.Env); err != nil {
				logProblems(log, "config reload failed; keeping the running servers and access settings", err)
				return false
			}
		}
		if err := src.Apply(ctx, next); err != nil {
			logProblems(log, "config reload failed; keeping the running servers and access settings", err)
			return false
		}
		p := e.Current()
		log.Info("config reloaded", "generation", e.Generation(), "keys", p.keys.Len(), "policy_dir", p.policyDir)
		return true
	}
	cfg, next := cur.cfg, cur.cfg
	if src.ConfigPath != "" {
		var err error
		if next, err = configfile.Load(src.ConfigPath, src.Env); err != nil {
			logProblems(log, "config reload failed; keeping the previous access settings", err)
			return false
		}
		// Only access settings reload: servers, prefixes and headers stay
		// what the running processes were built from.
		cfg = config.ForReload(e.started, next)
	}
	if err := e.Reload(ctx, cfg); err != nil {
		logProblems(log, "policy reload failed; keeping the previous policy", err)
		return false
	}
	p := e.Current()
	log.Info("access control reloaded", "generation", e.Generation(), "keys", p.keys.Len(), "policy_dir", p.policyDir)
	if r := config.CompareForReload(e.started, next); r.NeedsRestart() {
		// Servers and the gateway block are what the running processes
		// were built from; only their access settings were reloaded.
		log.Warn("config changes that need a restart were not applied",
			"servers_added", r.Added, "servers_removed", r.Removed, "servers_changed", r.Changed,
			"gateway_block_changed", r.Gateway, "general_settings_changed", r.General,
			"key_from_authorization_changed", r.KeySource)
	}
	return true
}

// logProblems logs one line per problem, with its file and line.
func logProblems(log *slog.Logger, msg string, err error) {
	var cps config.Problems
	var pps Problems
	switch {
	case errors.As(err, &cps):
		for _, p := range cps {
			log.Error(msg, "file", p.File, "line", p.Line, "path", p.Path, "problem", p.Message)
		}
	case errors.As(err, &pps):
		for _, p := range pps {
			log.Error(msg, "file", p.File, "line", p.Line, "problem", p.Message)
		}
	default:
		log.Error(msg, "error", err)
	}
}

// fingerprint hashes the config file and every policy file, so any edit
// (even one that keeps size and time) is noticed. Missing files hash as
// absent.
func fingerprint(configPath, policyDir string) [sha256.Size]byte {
	h := sha256.New()
	add := func(path string) {
		h.Write([]byte(path))
		h.Write([]byte{0})
		if f, err := os.Open(path); err == nil {
			io.Copy(h, io.LimitReader(f, maxPolicyFile+1))
			f.Close()
		}
		h.Write([]byte{0})
	}
	if configPath != "" {
		add(configPath)
	}
	if policyDir != "" {
		files, err := regoFiles(policyDir)
		if err != nil {
			h.Write([]byte("unreadable"))
		}
		for _, f := range files {
			add(f)
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
