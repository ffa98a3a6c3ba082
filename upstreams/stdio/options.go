package stdio

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure a Server. Alias and Command are required; every other
// zero value means the documented default.
type Options struct {
	// Alias names the server in logs and errors.
	Alias string
	// Command, Args, Env and Dir start a process. A bare Command is
	// looked up in the child's PATH. Env values are secrets: never logged.
	Command string
	Args    []string
	Env     map[string]string
	Dir     string

	// PerSession gives every caller key its own process (per_session
	// mode); otherwise one process serves all (shared mode).
	PerSession bool
	// Eager starts the shared process in Start and restarts it after a
	// crash as soon as the backoff allows, without waiting for a request.
	// It has no effect in per-session mode.
	Eager bool
	// IdleTimeout stops a process that has had no request for this long;
	// the next request starts a new one. Zero means never for the shared
	// process and 5m for per-session ones; an eager shared process is
	// never stopped for idleness.
	IdleTimeout time.Duration
	// MaxProcesses caps the per-session processes running at once. At the
	// cap, the least recently used idle one is stopped to make room; if
	// all are busy the request fails. Zero means 16.
	MaxProcesses int
	// MaxConcurrent bounds the requests in flight per process; more wait
	// for a free slot (or their context). Zero means no limit.
	MaxConcurrent int

	// StartTimeout bounds starting a process and initializing MCP with
	// it. Zero means 30s (npx may download a package first).
	StartTimeout time.Duration
	// StopGrace is how long a process may take to exit after its stdin
	// is closed before it is sent SIGTERM (then SIGKILL 2s later). Zero
	// means 2s.
	StopGrace time.Duration
	// RetryMin and RetryMax bound the restart backoff after a crash or a
	// failed start. Zero means 1s and 30s. A process that ran for
	// RetryMax before crashing is restarted after RetryMin again.
	RetryMin, RetryMax time.Duration

	// OnStarted, if set, is called (in its own goroutine) each time the
	// shared process has started and initialized, e.g. after a crash.
	OnStarted func()
	// OnListChanged, if set, is called when any process announces that
	// its tools, prompts or resources changed. It must not block.
	OnListChanged func()

	// LookupEnv reads the gateway's environment for the base variables.
	// Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Logger receives structured logs, including each process's stderr;
	// nil discards them.
	Logger *slog.Logger
	// Implementation is the client info sent to children; nil means mcpgw.
	Implementation *mcp.Implementation
}

// DefaultPerSessionIdle is the idle timeout of per-session processes.
const DefaultPerSessionIdle = 5 * time.Minute

func (o *Options) applyDefaults() error {
	if o.Alias == "" {
		return errors.New("stdio: no alias")
	}
	if o.Command == "" {
		return errors.New("stdio: " + o.Alias + ": no command")
	}
	if o.IdleTimeout <= 0 && o.PerSession {
		o.IdleTimeout = DefaultPerSessionIdle
	}
	if o.MaxProcesses <= 0 {
		o.MaxProcesses = 16
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 2 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Implementation == nil {
		o.Implementation = &mcp.Implementation{Name: "mcpgw", Version: "0.1.0"}
	}
	return nil
}
