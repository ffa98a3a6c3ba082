package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy"
)

// OpsListenFlag is the flag of `mcpgw extproc` and `mcpgw sidecar` that
// names their operations listener (gateway.ops_address of mcpgw run).
const OpsListenFlag = "-ops-listen"

// ComponentOps is the operations listener of a component run as its own
// process (`mcpgw extproc`, `mcpgw sidecar`): the same paths as mcpgw
// run's (OpsHandler), with the metrics that process fills and the
// readiness of that component alone.
type ComponentOps struct {
	// Metrics are the process's own; the caller hands them to what
	// records them (extproc.WithMetrics).
	Metrics *metrics.Metrics
	// component names the process in readiness reasons: "ext_proc" or
	// "sidecar".
	component string
	rt        *Runtime
	// started is set when the component has done what it does before
	// serving (the sidecar: its first discovery).
	started atomic.Bool
	// serving, once set, asks the component's own listener whether it
	// serves; probe makes it from the listener's address.
	serving atomic.Pointer[func(context.Context) error]
	probe   func(target string) func(context.Context) error
	// store, when set, must answer a ping (store_model_in_db; the
	// separate components refuse it today, see loadRuntime).
	store pinger
	log   *slog.Logger
}

// NewExtProcOps is the operations listener of `mcpgw extproc`: request,
// client session and policy decision metrics, upstream sessions (call
// UpstreamSessions on its Metrics with the pool) and OAuth2 token
// fetches. Ready: the policy is loaded and the gRPC service answers its
// health check (Serving).
func NewExtProcOps(rt *Runtime, log *slog.Logger) *ComponentOps {
	o := newComponentOps("ext_proc", rt, metrics.RequestSeries|metrics.DecisionSeries, log)
	o.started.Store(true) // nothing to do before serving
	o.probe = func(target string) func(context.Context) error {
		return func(ctx context.Context) error { return grpcServing(ctx, target) }
	}
	return o
}

// NewSidecarOps is the operations listener of `mcpgw sidecar`: policy
// decisions (calls to the servers it serves itself), discovery failures
// (call DiscoveryFailures on its Metrics) and OAuth2 token fetches
// (discovery and adapted servers). Ready: the first discovery is done
// (Started), the policy is loaded and the sidecar answers its health
// path (Serving).
func NewSidecarOps(rt *Runtime, log *slog.Logger) *ComponentOps {
	o := newComponentOps("sidecar", rt, metrics.DecisionSeries, log)
	o.probe = func(target string) func(context.Context) error {
		// Its own client: no proxy, no connections kept between probes.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		return func(ctx context.Context) error {
			return httpServing(ctx, client, "http://"+target+wellknown.SidecarHealthPath)
		}
	}
	return o
}

func newComponentOps(component string, rt *Runtime, series metrics.Series, log *slog.Logger) *ComponentOps {
	m := metrics.NewFor(series, rt.Config.Gateway.MetricsToolLabel)
	if rt.Access != nil {
		rt.Access.Observe(func(d policy.Decision) { m.Decision(d.Allow, d.Hidden, d.Invalid) })
	}
	m.TokenFetches(func() []metrics.TokenFetch { return tokenFetches(rt) })
	o := &ComponentOps{Metrics: m, component: component, rt: rt, log: log}
	if rt.store != nil {
		o.store = rt.store.store
	}
	return o
}

// Started says the component has done what it does before serving.
func (o *ComponentOps) Started() { o.started.Store(true) }

// Serving makes readiness ask the component's own listener at addr from
// now on: the ext_proc service's gRPC health (the service Envoy's
// health check asks), the sidecar's health path. An unspecified host
// (0.0.0.0, ::) is asked on loopback.
func (o *ComponentOps) Serving(addr net.Addr) {
	f := o.probe(selfAddress(addr))
	o.serving.Store(&f)
}

// Readiness lists what keeps the component from being ready; none means
// ready. Lines name components, never addresses or secrets (the errors
// behind them go to the log).
func (o *ComponentOps) Readiness(ctx context.Context) []string {
	if !o.started.Load() {
		return []string{"sidecar: first discovery not done"} // only the sidecar starts unstarted
	}
	var problems []string
	if p := policyLoaded(o.rt); p != "" {
		problems = append(problems, p)
	}
	if f := o.serving.Load(); f == nil {
		problems = append(problems, o.component+": not serving yet")
	} else if err := (*f)(ctx); err != nil {
		o.log.Warn("readiness: not serving", "component", o.component, "error", err)
		problems = append(problems, o.component+": not serving")
	}
	if o.store != nil {
		if p := storeAnswers(ctx, o.store, o.log); p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// Serve serves the operations listener on lis until ctx ends.
func (o *ComponentOps) Serve(ctx context.Context, lis net.Listener) error {
	return serveOps(ctx, lis, OpsHandler(o.Readiness, o.Metrics.Handler()), o.log)
}

// ListenComponentOps binds the operations listener a component's
// OpsListenFlag names.
func ListenComponentOps(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("operations listener %s (%s): %w", addr, OpsListenFlag, err)
	}
	return l, nil
}

// selfAddress is addr as this process reaches it: loopback for an
// unspecified host.
func selfAddress(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	host := "127.0.0.1"
	if tcp.IP.To4() == nil {
		host = "::1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// grpcServing asks the ext_proc service's gRPC health at target.
func grpcServing(ctx context.Context, target string) error {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: wellknown.ExtProcHealthService})
	if err != nil {
		return err
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", s)
	}
	return nil
}

// httpServing GETs url and wants a 200.
func httpServing(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
