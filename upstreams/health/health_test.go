package health

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/upstreams/discovery"
)

func TestOf(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		h      discovery.Health
		status Status
		err    string
	}{
		{"not tried yet", discovery.Health{}, Unknown, ""},
		{"listed", discovery.Health{Tried: true, Listed: true}, Healthy, ""},
		{"down", discovery.Health{Tried: true, Error: `calling "initialize": Post "http://10.0.0.5/mcp?token=secret-in-query": connection refused`}, Unhealthy, `calling "initialize": Post "<url>": connection refused`},
		{"down without a reason", discovery.Health{Tried: true}, Unhealthy, "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Of(tt.h, now)
			if r.Status != tt.status || r.Error != tt.err || !r.CheckedAt.Equal(now) {
				t.Errorf("Of = %+v, want %s %q", r, tt.status, tt.err)
			}
			if strings.Contains(r.Error, "secret-in-query") {
				t.Errorf("the error shows the URL: %q", r.Error)
			}
		})
	}
}

func TestCheckerRound(t *testing.T) {
	state := map[string]discovery.Health{"up": {Tried: true, Listed: true}, "down": {Tried: true, Error: "refused"}}
	var seen []string
	c := &Checker{
		Observe: func() map[string]discovery.Health { return state },
		Checked: func(_ context.Context, alias string, _ Result) { seen = append(seen, alias) },
	}
	if got := c.Result("up").Status; got != Unknown {
		t.Errorf("before any round: %s, want unknown", got)
	}
	c.Round(context.Background())
	if got := c.Result("up").Status; got != Healthy {
		t.Errorf("up: %s", got)
	}
	if got := c.Result("down"); got.Status != Unhealthy || got.Error != "refused" {
		t.Errorf("down: %+v", got)
	}
	delete(state, "down") // removed from the gateway
	c.Round(context.Background())
	if got := c.Result("down").Status; got != Unknown {
		t.Errorf("a removed server keeps a result: %s", got)
	}
	if len(seen) != 3 {
		t.Errorf("Checked called for %q, want 3 results", seen)
	}
}

// A kick (the server set changed) runs a round at once, not after the
// interval.
func TestKick(t *testing.T) {
	rounds := make(chan struct{}, 4)
	c := &Checker{
		Observe: func() map[string]discovery.Health {
			return map[string]discovery.Health{"a": {Tried: true, Listed: true}}
		},
		Interval: time.Hour,
		Checked:  func(context.Context, string, Result) { rounds <- struct{}{} },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	<-rounds // the first round, at start
	c.Kick()
	select {
	case <-rounds:
	case <-time.After(5 * time.Second):
		t.Fatal("a kick ran no round")
	}
}
