package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// The gateway's operations listener (gateway.ops_address): health,
// readiness, metrics and Envoy's statistics, for probes and scrapers.
// docs/operations.md describes what each path answers.
const (
	HealthzPath      = "/healthz"
	ReadyzPath       = "/readyz"
	MetricsPath      = "/metrics"
	EnvoyMetricsPath = "/metrics/envoy"
)

// opsCheckTimeout bounds one readiness check (each question to Envoy's
// admin interface, the store's Ping): a probe must get an answer even
// when a dependency hangs.
const opsCheckTimeout = 2 * time.Second

// opsState is what the operations listener reports.
type opsState struct {
	// started is set once Start has returned: Envoy ready, its first
	// clusters and routes acknowledged.
	started atomic.Bool
	// draining is set when the gateway begins to stop.
	draining atomic.Bool
}

// listenOps binds the operations listener: gateway.ops_address, or a
// free loopback port.
func listenOps(addr netip.AddrPort) (net.Listener, error) {
	if !addr.IsValid() {
		addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)
	}
	l, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("operations listener %s (gateway.ops_address): %w", addr, err)
	}
	return l, nil
}

// OpsHandler serves what every operations listener has: /healthz,
// /readyz and /metrics (from metricsHandler). ready lists what keeps the
// process from being ready, none meaning ready; its context ends after
// opsCheckTimeout, so a hung dependency gives a 503, never a hanging
// probe. Each line must name a component, never an address or a secret.
// Callers add their own paths to the mux.
func OpsHandler(ready func(context.Context) []string, metricsHandler http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthzPath, func(w http.ResponseWriter, r *http.Request) {
		// Alive: this process serves HTTP. Nothing else is asked, so a
		// slow dependency never gets a live process restarted.
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET "+ReadyzPath, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), opsCheckTimeout)
		defer cancel()
		problems := ready(ctx)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready:\n"+strings.Join(problems, "\n")+"\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	mux.Handle("GET "+MetricsPath, metricsHandler)
	return mux
}

// opsHandler serves the operations paths of mcpgw run: OpsHandler's and
// Envoy's statistics.
func (inst *Instance) opsHandler() http.Handler {
	mux := OpsHandler(inst.readiness, inst.metrics.Handler())
	mux.HandleFunc("GET "+EnvoyMetricsPath, inst.envoyMetrics)
	return mux
}

// readiness lists what keeps the gateway from being ready; none means
// ready. Each line names a check and never carries a secret.
func (inst *Instance) readiness(ctx context.Context) []string {
	if inst.ops.draining.Load() {
		return []string{"draining: the gateway is stopping"}
	}
	if !inst.ops.started.Load() {
		return []string{"starting"}
	}
	ctx, cancel := context.WithTimeout(ctx, opsCheckTimeout)
	defer cancel()
	var problems []string
	if p := policyLoaded(inst.Current()); p != "" {
		problems = append(problems, p)
	}
	if body, err := inst.envoy.admin(ctx, http.MethodGet, "/ready"); err != nil || strings.TrimSpace(body) != "LIVE" {
		problems = append(problems, "envoy: not LIVE")
	} else if clusters, err := inst.envoy.admin(ctx, http.MethodGet, "/clusters"); err != nil {
		problems = append(problems, "envoy: clusters unknown")
	} else {
		for _, c := range []string{wellknown.ExtProcCluster, wellknown.SidecarCluster} {
			if !anyHealthyHost(clusters, c) {
				problems = append(problems, "envoy: no healthy host in cluster "+c)
			}
		}
	}
	if inst.store != nil {
		if p := storeAnswers(ctx, inst.store, inst.log); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// policyLoaded is the policy's readiness reason, "" when it is loaded.
func policyLoaded(rt *Runtime) string {
	if rt == nil || rt.Access == nil || rt.Access.Current() == nil {
		return "policy: not loaded"
	}
	return ""
}

// pinger is the store as readiness asks it.
type pinger interface{ Ping(context.Context) error }

// storeAnswers is the store's readiness reason, "" when it answers a
// ping. Its error, which may name the database, goes to the log only.
func storeAnswers(ctx context.Context, st pinger, log *slog.Logger) string {
	if err := st.Ping(ctx); err != nil {
		log.Warn("readiness: the store does not answer", "error", err)
		return "store: does not answer"
	}
	return ""
}

// anyHealthyHost reads Envoy's /clusters text (lines such as
// "mcpgw_ext_proc::127.0.0.1:9002::health_flags::healthy") for a host of
// cluster whose health flags are "healthy" (no failure flag set).
func anyHealthyHost(clusters, cluster string) bool {
	prefix := cluster + "::"
	for line := range strings.Lines(clusters) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
		if !ok {
			continue
		}
		if i := strings.LastIndex(rest, "::health_flags::"); i >= 0 && rest[i+len("::health_flags::"):] == "healthy" {
			return true
		}
	}
	return false
}

// envoyMetrics passes Envoy's own statistics through in Prometheus form
// (its admin interface's /stats/prometheus), so one scrape target has
// both; the admin interface itself stays on loopback.
func (inst *Instance) envoyMetrics(w http.ResponseWriter, r *http.Request) {
	if !inst.ops.started.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	resp, err := inst.envoy.adminRequest(r.Context(), http.MethodGet, "/stats/prometheus")
	if err != nil {
		http.Error(w, "envoy's admin interface does not answer", http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// Drain stops the gateway taking new work and waits, at most timeout,
// for the calls in flight: /readyz and the listener's ready path turn
// 503, Envoy stops accepting connections (its listener is drained), and
// the calls Envoy has open to upstreams (routed calls, the admin API)
// and the sidecar's requests other than event streams finish. It
// returns the number of calls still open (cut by the Close that
// follows). Event streams (GET) are not waited for: they last as long
// as the client wants; clients reopen them elsewhere.
func (inst *Instance) Drain(ctx context.Context, timeout time.Duration) int {
	inst.ops.draining.Store(true)
	if inst.envoy == nil || inst.envoy.AdminAddress() == "" {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// healthcheck/fail first, so a load balancer polling the ready path
	// sees 503 while the listener is still there to say so.
	for _, path := range []string{"/healthcheck/fail", "/drain_listeners"} {
		if _, err := inst.envoy.admin(ctx, http.MethodPost, path); err != nil {
			inst.log.Warn("drain: envoy admin", "path", path, "error", err)
		}
	}
	start := time.Now()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	logged := false
	for {
		n := inst.inFlight(ctx)
		if n == 0 {
			if logged {
				inst.log.Info("drained", "after", time.Since(start).Round(time.Millisecond))
			}
			return 0
		}
		if !logged {
			inst.log.Info("draining", "in_flight", n, "timeout", timeout)
			logged = true
		}
		select {
		case <-ctx.Done():
			inst.log.Warn("drain timeout: cutting calls in flight", "in_flight", n, "timeout", timeout)
			return n
		case <-t.C:
		}
	}
}

// inFlight counts the calls a drain waits for: Envoy's open requests to
// every cluster but the gateway's own services, plus the sidecar's open
// requests other than event streams. Envoy not answering counts as
// nothing in flight (it cannot finish them anyway).
func (inst *Instance) inFlight(ctx context.Context) int {
	n := 0
	for _, r := range inst.Replicas {
		n += int(r.sidecarInFlight.Load())
	}
	stats, err := inst.envoy.admin(ctx, http.MethodGet, "/stats?filter=upstream_rq_active$")
	if err != nil {
		return n
	}
	sc := bufio.NewScanner(strings.NewReader(stats))
	for sc.Scan() {
		// cluster.<name>.upstream_rq_active: <n>
		name, value, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		cluster := strings.TrimSuffix(strings.TrimPrefix(name, "cluster."), ".upstream_rq_active")
		switch cluster {
		case wellknown.ExtProcCluster, wellknown.XDSCluster, wellknown.SidecarCluster:
			continue // ours: ext_proc streams and GET streams go with their requests
		}
		if v, err := strconv.Atoi(strings.TrimSpace(value)); err == nil {
			n += v
		}
	}
	return n
}

// countInFlight counts h's requests in flight in n, event streams (GET)
// excepted.
func countInFlight(n *atomic.Int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		n.Add(1)
		defer n.Add(-1)
		h.ServeHTTP(w, r)
	})
}

// serveOps serves the operations listener until ctx ends.
func serveOps(ctx context.Context, lis net.Listener, h http.Handler, log *slog.Logger) error {
	err := ServeHTTP(ctx, lis, h, "operations listener", log)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
