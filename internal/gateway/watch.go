package gateway

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
	"github.com/mcpgw/mcpgw/policy"
)

// ConfigSource says where a running gateway's config comes from, so Watch
// can reload it.
type ConfigSource struct {
	// Path is the config file; "" means only the policy directory is
	// watched (with the config the engine was built from).
	Path string
	// Env resolves os.environ/ references on reload; nil means none.
	Env configfile.LookupEnv
	// Running is the config the running processes were built from.
	// Without Apply, a reload takes only the access settings of a new
	// config (config.ForReload) and warns about the rest against it.
	Running *config.Config
	// Apply, when set, applies each loaded config to the whole gateway
	// (servers included, and the engine with them) instead of the engine
	// reloading its access settings alone; it reports what it could not
	// apply itself. An error keeps the running state.
	Apply func(ctx context.Context, cfg *config.Config) error
}

// DefaultWatchInterval is how often Watch looks for changes.
const DefaultWatchInterval = time.Second

// maxConfigPrint bounds how much of the config file Watch hashes, as
// much as of one policy file.
const maxConfigPrint = 4 << 20

// Watch reloads e whenever the config file or a policy file in
// access.policy_dir changes, until ctx ends. A broken config or policy is
// logged, each problem with its file and line, and the running version
// stays. With src.Apply, the loaded config goes to it (a running gateway
// applies servers live). Without, only the access settings of a changed
// config take effect (keys, teams, organizations, server tool and
// parameter rules); servers themselves and the gateway: block need a
// restart, which is logged as a warning naming the servers.
//
// The config file is read here, in the wiring: package policy is built
// from plain config values and only fingerprints its own .rego files
// (policy.Fingerprint).
func Watch(ctx context.Context, e *policy.Engine, src ConfigSource, interval time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	if src.Running == nil {
		src.Running = e.Current().Config()
	}
	// The config is compared with what it was when watching began, the
	// policy files with what the running version was built from.
	lastConfig := fileFingerprint(src.Path)
	lastPolicy := e.Current().Fingerprint()
	// A change is applied once the files hold still for one interval: an
	// editor or a script that truncates and then writes would otherwise
	// have a half-written file applied (an empty access: block revokes
	// every key until the next poll). Held still is measured on the
	// clock, not in ticks: a slow loop receives a buffered tick right
	// after the one it was late for, microseconds after the first look.
	var seenConfig, seenPolicy [sha256.Size]byte
	var seenAt time.Time
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := e.Current()
		fc, fp := fileFingerprint(src.Path), policy.Fingerprint(cur.PolicyDir())
		if fc == lastConfig && fp == lastPolicy {
			continue
		}
		if fc != seenConfig || fp != seenPolicy {
			seenConfig, seenPolicy, seenAt = fc, fp, time.Now()
			continue
		}
		if time.Since(seenAt) < interval {
			continue
		}
		lastConfig, lastPolicy = fc, fp
		if reloadFrom(ctx, e, src, cur, log) {
			// The new version may read another policy directory.
			lastPolicy = e.Current().Fingerprint()
		}
	}
}

// reloadFrom loads the config (if it has a file) and the policy and swaps
// them in; on failure it logs and keeps cur.
func reloadFrom(ctx context.Context, e *policy.Engine, src ConfigSource, cur *policy.Prepared, log *slog.Logger) bool {
	if src.Apply != nil {
		next := cur.Config()
		if src.Path != "" {
			var err error
			if next, err = configfile.Load(src.Path, src.Env); err != nil {
				logProblems(log, "config reload failed; keeping the running servers and access settings", err)
				return false
			}
		}
		if err := src.Apply(ctx, next); err != nil {
			logProblems(log, "config reload failed; keeping the running servers and access settings", err)
			return false
		}
		p := e.Current()
		log.Info("config reloaded", "generation", e.Generation(), "keys", p.Keys().Len(), "policy_dir", p.PolicyDir())
		return true
	}
	cfg, next := cur.Config(), cur.Config()
	if src.Path != "" {
		var err error
		if next, err = configfile.Load(src.Path, src.Env); err != nil {
			logProblems(log, "config reload failed; keeping the previous access settings", err)
			return false
		}
		// Only access settings reload: servers, prefixes and headers stay
		// what the running processes were built from.
		cfg = config.ForReload(src.Running, next)
	}
	if err := e.Reload(ctx, cfg); err != nil {
		logProblems(log, "policy reload failed; keeping the previous policy", err)
		return false
	}
	p := e.Current()
	log.Info("access control reloaded", "generation", e.Generation(), "keys", p.Keys().Len(), "policy_dir", p.PolicyDir())
	if r := config.CompareForReload(src.Running, next); r.NeedsRestart() {
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
	var pps policy.Problems
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

// fileFingerprint hashes the config file, so any edit (even one that
// keeps size and time) is noticed. A missing file hashes as absent; ""
// hashes as nothing.
func fileFingerprint(path string) [sha256.Size]byte {
	h := sha256.New()
	if path != "" {
		h.Write([]byte(path))
		h.Write([]byte{0})
		if f, err := os.Open(path); err == nil {
			io.Copy(h, io.LimitReader(f, maxConfigPrint+1))
			f.Close()
		}
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
