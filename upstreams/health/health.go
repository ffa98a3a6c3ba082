// Package health turns what discovery knows of each upstream MCP server
// into LiteLLM's health fields (status, last_health_check,
// health_check_error). Discovery keeps a session with every server and
// lists it, so its state is the check: no extra sessions, initializes or
// DELETEs reach the servers.
package health

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/mcpgw/mcpgw/upstreams/discovery"
)

// Status is LiteLLM's health status of a server.
type Status string

// Statuses, spelled as in LiteLLM's /v1/mcp/server/health.
const (
	Healthy   Status = "healthy"
	Unhealthy Status = "unhealthy"
	Unknown   Status = "unknown" // not tried yet
)

// Result is one observation of one server.
type Result struct {
	Status    Status
	CheckedAt time.Time
	// Error says why the server is unhealthy; "" when healthy. URLs are
	// replaced by "<url>": a configured URL may carry a secret.
	Error string
}

// Of maps discovery's view of a server to a Result observed at now.
func Of(h discovery.Health, now time.Time) Result {
	switch {
	case !h.Tried:
		return Result{Status: Unknown, CheckedAt: now}
	case h.Listed:
		return Result{Status: Healthy, CheckedAt: now}
	}
	msg := h.Error
	if msg == "" {
		msg = "unavailable"
	}
	return Result{Status: Unhealthy, CheckedAt: now, Error: redactURLs(msg)}
}

// urlPattern finds URLs in error text.
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)

func redactURLs(s string) string { return urlPattern.ReplaceAllString(s, "<url>") }

// DefaultInterval is how often a Checker records what it observes.
const DefaultInterval = 30 * time.Second

// Checker records the health of every current server on an interval.
type Checker struct {
	// Observe returns discovery's view of every server, by alias.
	Observe func() map[string]discovery.Health
	// Interval between rounds; zero means DefaultInterval.
	Interval time.Duration
	// Checked, when set, is called with each result (the wiring records
	// it in the store).
	Checked func(ctx context.Context, alias string, r Result)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	kick chan struct{}

	mu      sync.Mutex
	results map[string]Result
}

// Kick asks for a round now (the server set changed), without waiting
// for it; a Checker that is not running ignores it.
func (c *Checker) Kick() {
	c.mu.Lock()
	if c.kick == nil {
		c.kick = make(chan struct{}, 1)
	}
	k := c.kick
	c.mu.Unlock()
	select {
	case k <- struct{}{}:
	default:
	}
}

// Run records a round at once, then every Interval, until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	c.mu.Lock()
	if c.kick == nil {
		c.kick = make(chan struct{}, 1)
	}
	kick := c.kick
	c.mu.Unlock()
	for {
		c.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

// Round observes every current server once.
func (c *Checker) Round(ctx context.Context) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now().UTC()
	fresh := map[string]Result{}
	for alias, h := range c.Observe() {
		r := Of(h, t)
		fresh[alias] = r
		if c.Checked != nil && ctx.Err() == nil {
			c.Checked(ctx, alias, r)
		}
	}
	c.mu.Lock()
	c.results = fresh // removed servers drop out
	c.mu.Unlock()
}

// Result returns the latest result for alias; Unknown before its first
// round.
func (c *Checker) Result(alias string) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.results[alias]; ok {
		return r
	}
	return Result{Status: Unknown}
}
