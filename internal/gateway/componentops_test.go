package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// testComponentRuntime builds a runtime with one HTTP server (never
// contacted by these tests).
func testComponentRuntime(t *testing.T) *Runtime {
	t.Helper()
	cfg, err := configfile.Parse([]byte("mcp_servers:\n  demo:\n    url: http://127.0.0.1:1/mcp\n    transport: http\n"), "test.yaml",
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

type fakeStore struct{ err error }

func (s fakeStore) Ping(context.Context) error { return s.err }

// secretish is what an error behind a reason may carry and the reason
// must not: an address and a credential.
const secretish = "postgres://mcpgw:hunter2@10.0.0.7:5432/mcpgw"

// TestComponentReadiness: the reasons /readyz of `mcpgw extproc` and
// `mcpgw sidecar` gives, each naming a component and never what the
// failing check's error says (an address, a credential).
func TestComponentReadiness(t *testing.T) {
	ok := func(context.Context) error { return nil }
	failing := func(context.Context) error {
		return errors.New("dial tcp 10.0.0.7:9002: connection refused " + secretish)
	}
	for _, tc := range []struct {
		name      string
		sidecar   bool
		started   bool
		serving   func(context.Context) error
		noPolicy  bool
		store     pinger
		wantLines []string
	}{
		{name: "extproc ready", started: true, serving: ok},
		{name: "sidecar ready", sidecar: true, started: true, serving: ok},
		{name: "sidecar before its first discovery", sidecar: true, serving: ok, wantLines: []string{"sidecar: first discovery not done"}},
		{name: "extproc not listening yet", started: true, wantLines: []string{"ext_proc: not serving yet"}},
		{name: "sidecar not listening yet", sidecar: true, started: true, wantLines: []string{"sidecar: not serving yet"}},
		{name: "extproc health check fails", started: true, serving: failing, wantLines: []string{"ext_proc: not serving"}},
		{name: "sidecar health path fails", sidecar: true, started: true, serving: failing, wantLines: []string{"sidecar: not serving"}},
		{name: "no policy", started: true, serving: ok, noPolicy: true, wantLines: []string{"policy: not loaded"}},
		{name: "store answers", started: true, serving: ok, store: fakeStore{}},
		{name: "store does not answer", started: true, serving: ok, store: fakeStore{errors.New("ping " + secretish)}, wantLines: []string{"store: does not answer"}},
		{name: "everything wrong at once", started: true, serving: failing, noPolicy: true, store: fakeStore{errors.New(secretish)},
			wantLines: []string{"policy: not loaded", "ext_proc: not serving", "store: does not answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testComponentRuntime(t)
			logs := &testutil.SyncBuffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			o := NewExtProcOps(rt, log)
			if tc.sidecar {
				o = NewSidecarOps(rt, log)
			}
			if tc.started {
				o.Started()
			}
			if tc.serving != nil {
				o.serving.Store(&tc.serving)
			}
			if tc.noPolicy {
				o.rt = &Runtime{Config: rt.Config}
			}
			o.store = tc.store

			rec := httptest.NewRecorder()
			OpsHandler(o.Readiness, o.Metrics.Handler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ReadyzPath, nil))
			body := rec.Body.String()
			if len(tc.wantLines) == 0 {
				if rec.Code != http.StatusOK || body != "ready\n" {
					t.Fatalf("/readyz: %d %q, want 200 ready", rec.Code, body)
				}
				return
			}
			want := "not ready:\n" + strings.Join(tc.wantLines, "\n") + "\n"
			if rec.Code != http.StatusServiceUnavailable || body != want {
				t.Errorf("/readyz: %d %q, want 503 %q", rec.Code, body, want)
			}
			for _, leak := range []string{"10.0.0.7", "hunter2", "postgres://"} {
				if strings.Contains(body, leak) {
					t.Errorf("/readyz shows %q: %s", leak, body)
				}
			}
		})
	}
}

// TestComponentReadinessBounded: a check that hangs gives a 503 (the
// handler's deadline ends it), never a hanging probe.
func TestComponentReadinessBounded(t *testing.T) {
	o := NewExtProcOps(testComponentRuntime(t), slog.New(slog.DiscardHandler))
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	o.serving.Store(&hang)
	rec := httptest.NewRecorder()
	OpsHandler(o.Readiness, o.Metrics.Handler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ReadyzPath, nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "ext_proc: not serving") {
		t.Errorf("/readyz with a hung check: %d %q", rec.Code, rec.Body.String())
	}
}

// TestComponentOpsServing: readiness asks the component's real
// listener: the ext_proc service's gRPC health (on 0.0.0.0, asked on
// loopback) and the sidecar's health path; each turns not ready when
// the component stops. /metrics has the process's own series only.
func TestComponentOpsServing(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Run("extproc", func(t *testing.T) {
		rt := testComponentRuntime(t)
		o := NewExtProcOps(rt, log)
		svc, pool := NewExtProc(rt, log)
		defer pool.Close()
		o.Metrics.UpstreamSessions(pool.Len)
		lis, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ServeExtProc(ctx, lis, svc, 1<<20, log) }()
		o.Serving(lis.Addr())
		if got := o.Readiness(t.Context()); len(got) != 0 {
			t.Errorf("serving: %q", got)
		}
		stop()
		<-done
		if got := o.Readiness(t.Context()); !slices.Equal(got, []string{"ext_proc: not serving"}) {
			t.Errorf("stopped: %q", got)
		}
		text := scrapeOps(t, o)
		// (The request histogram has no series before a request.)
		for _, name := range []string{"mcpgw_policy_decisions_total", "mcpgw_client_sessions_total", "mcpgw_upstream_sessions_open"} {
			if !strings.Contains(text, "# TYPE "+name+" ") {
				t.Errorf("no %s", name)
			}
		}
		if strings.Contains(text, "mcpgw_admin_api_writes_total") || strings.Contains(text, "mcpgw_upstream_discovery_failures_total") {
			t.Error("the ext_proc process exports another's metrics")
		}
	})
	t.Run("sidecar", func(t *testing.T) {
		rt := testComponentRuntime(t)
		o := NewSidecarOps(rt, log)
		side, err := NewSidecar(rt, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Metrics.DiscoveryFailures(side.DiscoveryFailures)
		srv := httptest.NewServer(side.Handler())
		defer srv.Close()
		o.Started()
		o.Serving(srv.Listener.Addr())
		if got := o.Readiness(t.Context()); len(got) != 0 {
			t.Errorf("serving: %q", got)
		}
		side.Close() // its health path turns 503
		if got := o.Readiness(t.Context()); !slices.Equal(got, []string{"sidecar: not serving"}) {
			t.Errorf("closed: %q", got)
		}
		text := scrapeOps(t, o)
		if !strings.Contains(text, "# TYPE mcpgw_policy_decisions_total ") {
			t.Error("no mcpgw_policy_decisions_total")
		}
		if strings.Contains(text, "mcp_server_operation_duration_seconds") || strings.Contains(text, "mcpgw_client_sessions_total") {
			t.Error("the sidecar exports the ext_proc service's metrics")
		}
	})
}

func scrapeOps(t *testing.T, o *ComponentOps) string {
	t.Helper()
	rec := httptest.NewRecorder()
	OpsHandler(o.Readiness, o.Metrics.Handler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, MetricsPath, nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
