package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// echoText is the echo tool's input; the reply must carry it back.
const echoText = "hello from the mcpgw bench"

// callTimeout only guards against a hung call; it is not a measurement.
const callTimeout = 30 * time.Second

// clients are the go-sdk client sessions of one scenario, opened once and
// reused by every concurrency level. They share one HTTP transport whose
// idle pool holds a connection per session, so no call waits for a dial.
type clients struct {
	sessions []*mcp.ClientSession
	tr       *http.Transport
}

func openClients(ctx context.Context, tg *target, n int, protocol string) (*clients, error) {
	c := &clients{tr: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no overall limit
		MaxIdleConnsPerHost: 2*n + 8,
		IdleConnTimeout:     90 * time.Second,
	}}
	var rt http.RoundTripper = c.tr
	if len(tg.header) > 0 {
		rt = headerTransport{base: c.tr, header: tg.header}
	}
	hc := &http.Client{Transport: rt}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpgw-bench", Version: "1"}, nil)
	for range n {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		cs, err := client.Connect(cctx, &mcp.StreamableClientTransport{
			Endpoint:   tg.endpoint,
			HTTPClient: hc,
			MaxRetries: -1,
			// Only POSTs are measured; no session holds a GET stream open.
			DisableStandaloneSSE: true,
		}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
		cancel()
		if err != nil {
			c.Close() // the sessions opened so far
			return nil, fmt.Errorf("connect to %s: %w", tg.endpoint, err)
		}
		c.sessions = append(c.sessions, cs)
	}
	return c, nil
}

func (c *clients) Close() {
	var wg sync.WaitGroup
	for _, cs := range c.sessions {
		wg.Go(func() { _ = cs.Close() })
	}
	wg.Wait()
	c.tr.CloseIdleConnections()
}

// headerTransport adds fixed headers (scenario (b)'s x-mcp-cluster).
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.header {
		req.Header[k] = v
	}
	return t.base.RoundTrip(req)
}

// result is one scenario at one concurrency level.
type result struct {
	scenario    string
	key         string // "a", "b" or "c"
	concurrency int
	window      time.Duration

	latencies []time.Duration // sorted, measured calls that succeeded
	errors    int
	firstErr  error

	initsBefore, initsAfter int64  // upstream initialize counter at window start/end
	warmupInits             int64  // upstream initializes since the previous window
	spans                   string // spans exported by the end of the window (traced scenarios)
	fastCalls               int    // calls Envoy's fast path served in warm-up and window (gateway scenarios)
}

func (r result) calls() int { return len(r.latencies) }

func (r result) throughput() float64 { return float64(r.calls()) / r.window.Seconds() }

// pct is the nearest-rank percentile (0 < p <= 100).
func (r result) pct(p float64) time.Duration {
	n := len(r.latencies)
	if n == 0 {
		return 0
	}
	i := int(float64(n)*p/100+0.999999999) - 1
	return r.latencies[min(max(i, 0), n-1)]
}

// initsPer1000 is upstream initializes per 1000 measured calls.
func (r result) initsPer1000() float64 {
	if r.calls() == 0 {
		return 0
	}
	return float64(r.initsAfter-r.initsBefore) * 1000 / float64(r.calls())
}

// measure runs one worker per session: calls during warm-up are discarded;
// a call counts when it starts and ends inside the measured window.
func measure(ctx context.Context, tg *target, sessions []*mcp.ClientSession, up *upstream, warmup, window time.Duration) (result, error) {
	start := time.Now()
	winStart := start.Add(warmup)
	winEnd := winStart.Add(window)

	type workerOut struct {
		lat      []time.Duration
		errors   int
		firstErr error
	}
	outs := make([]workerOut, len(sessions))
	var wg sync.WaitGroup
	for i, cs := range sessions {
		wg.Go(func() {
			o := &outs[i]
			o.lat = make([]time.Duration, 0, 4096)
			for {
				t0 := time.Now()
				if !t0.Before(winEnd) || ctx.Err() != nil {
					return
				}
				err := call(ctx, cs, tg.tool)
				t1 := time.Now()
				if t0.Before(winStart) || t1.After(winEnd) || ctx.Err() != nil {
					continue // warm-up, or straddles the end
				}
				if err != nil {
					o.errors++
					if o.firstErr == nil {
						o.firstErr = err
					}
					continue
				}
				o.lat = append(o.lat, t1.Sub(t0))
			}
		})
	}

	r := result{window: window}
	if sleepUntil(ctx, winStart) {
		r.initsBefore = up.Inits.Load()
		if sleepUntil(ctx, winEnd) {
			r.initsAfter = up.Inits.Load()
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	for _, o := range outs {
		r.latencies = append(r.latencies, o.lat...)
		r.errors += o.errors
		if r.firstErr == nil {
			r.firstErr = o.firstErr
		}
	}
	slices.Sort(r.latencies)
	if r.calls() == 0 {
		return r, fmt.Errorf("no call succeeded in the measured window (%d errors; first: %v)", r.errors, r.firstErr)
	}
	return r, nil
}

// call makes one tools/call of the echo tool and checks the reply.
func call(ctx context.Context, cs *mcp.ClientSession, tool string) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"text": echoText}})
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("tool error: %v", contentText(res))
	}
	if got := contentText(res); got != echoText {
		return fmt.Errorf("echo returned %q", got)
	}
	return nil
}

func contentText(res *mcp.CallToolResult) string {
	if len(res.Content) == 0 {
		return ""
	}
	if t, ok := res.Content[0].(*mcp.TextContent); ok {
		return t.Text
	}
	return fmt.Sprintf("%T", res.Content[0])
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
