// Package health checks upstream MCP servers the way a client would:
// connect (initialize), list the first page of tools, close. The control
// plane shows the results as each server's status, last_health_check and
// health_check_error (LiteLLM's fields).
package health

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sync/errgroup"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
)

// Status is LiteLLM's health status of a server.
type Status string

// Statuses, spelled as in LiteLLM's /v1/mcp/server/health.
const (
	Healthy   Status = "healthy"
	Unhealthy Status = "unhealthy"
	Unknown   Status = "unknown" // not checked yet
)

// Result is one check of one server.
type Result struct {
	Status    Status
	CheckedAt time.Time
	// Error says why the server is unhealthy; "" when healthy. URLs are
	// replaced by "<url>": a configured URL may carry a secret.
	Error string
}

// Defaults.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 10 * time.Second
	parallelChecks  = 8
)

// Check connects to up with its configured credentials, lists the first
// page of its tools and closes the session.
func Check(ctx context.Context, up *upstreams.Upstream, timeout time.Duration, now func() time.Time) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := check(ctx, up)
	r := Result{Status: Healthy, CheckedAt: now().UTC()}
	if err != nil {
		r.Status, r.Error = Unhealthy, redactURLs(err.Error())
		if ctx.Err() != nil {
			r.Error = fmt.Sprintf("no answer within %s", timeout)
		}
	}
	return r
}

func check(ctx context.Context, up *upstreams.Upstream) error {
	t, err := discovery.NewTransport(up, upstreams.HTTPClient(up))
	if err != nil {
		return err
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "mcpgw-health-check", Version: "1"}, nil).
		Connect(ctx, t, &mcp.ClientSessionOptions{ProtocolVersion: discovery.ProtocolVersion})
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	defer cs.Close()
	if _, err := cs.ListTools(ctx, nil); err != nil {
		return fmt.Errorf("tools/list: %w", err)
	}
	return nil
}

// urlPattern finds URLs in error text.
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)

func redactURLs(s string) string { return urlPattern.ReplaceAllString(s, "<url>") }

// Checker checks every upstream of the current set on an interval and
// keeps the latest result of each, by alias.
type Checker struct {
	// Upstreams returns the servers to check now (the set changes at run
	// time).
	Upstreams func() []*upstreams.Upstream
	// Interval between rounds; zero means DefaultInterval.
	Interval time.Duration
	// Timeout of one check; zero means DefaultTimeout.
	Timeout time.Duration
	// Checked, when set, is called with each result (the wiring records
	// stored servers' health in the store).
	Checked func(ctx context.Context, up *upstreams.Upstream, r Result)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	results map[string]Result
}

// Run checks every upstream at once, then every Interval, until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Round checks every current upstream once, a few at a time, and returns
// when all are checked.
func (c *Checker) Round(ctx context.Context) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	ups := c.Upstreams()
	var g errgroup.Group
	g.SetLimit(parallelChecks)
	fresh := make(map[string]Result, len(ups))
	var mu sync.Mutex
	for _, up := range ups {
		g.Go(func() error {
			r := Check(ctx, up, timeout, now)
			if ctx.Err() != nil {
				return nil // stopping: not a finding about the server
			}
			mu.Lock()
			fresh[up.Alias] = r
			mu.Unlock()
			if c.Checked != nil {
				c.Checked(ctx, up, r)
			}
			return nil
		})
	}
	g.Wait()
	c.mu.Lock()
	c.results = fresh // removed servers drop out
	c.mu.Unlock()
}

// Result returns the latest result for alias; Unknown before its first
// check.
func (c *Checker) Result(alias string) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.results[alias]; ok {
		return r
	}
	return Result{Status: Unknown}
}
