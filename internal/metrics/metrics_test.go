package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLabels(t *testing.T) {
	for code, want := range map[int]string{-32700: OutcomeParseError, -32600: OutcomeInvalidRequest, -32601: OutcomeMethodNotFound,
		-32602: OutcomeInvalidParams, -32603: OutcomeInternalError, -32000: OutcomeServerError, -32002: OutcomeServerError} {
		if got := JSONRPCOutcome(code); got != want {
			t.Errorf("JSONRPCOutcome(%d) = %q, want %q", code, got, want)
		}
	}
	for method, want := range map[string]string{"tools/call": "tools/call", "": "", "x/made-up": "other"} {
		if got := MethodLabel(method); got != want {
			t.Errorf("MethodLabel(%q) = %q, want %q", method, got, want)
		}
	}
	for code, want := range map[int]string{200: "200", 404: "404", 99: "other", 600: "other"} {
		if got := codeLabel(code); got != want {
			t.Errorf("codeLabel(%d) = %q", code, got)
		}
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// TestExposition: requests, decisions and admin API writes appear under
// their documented names; the tool label only when asked for.
func TestExposition(t *testing.T) {
	m := New(false)
	m.Request("tools/call", "github", "create_issue", OutcomeOK, 20*time.Millisecond)
	m.Decision(false, true, false)
	h := m.AdminAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/key/generate", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/key/list", nil))
	text := scrape(t, m)
	for _, want := range []string{
		`mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",outcome="ok",server="github"} 1`,
		`mcpgw_policy_decisions_total{decision="hidden"} 1`,
		`mcpgw_policy_decisions_total{decision="allow"} 0`,
		`mcpgw_admin_api_writes_total{code="201",object="key"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s", want)
		}
	}
	if strings.Contains(text, "create_issue") {
		t.Error("tool name exported without metrics_tool_label")
	}
	m = New(true)
	m.Request("tools/call", "github", "create_issue", OutcomeToolError, time.Millisecond)
	if text := scrape(t, m); !strings.Contains(text, `gen_ai_tool_name="create_issue"`) {
		t.Error("no tool label with metrics_tool_label")
	}
}

// The hot path allocates nothing once a series exists.
func TestRequestAllocations(t *testing.T) {
	m := New(false)
	m.Request("tools/call", "github", "x", OutcomeOK, time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { m.Request("tools/call", "github", "x", OutcomeOK, time.Millisecond) }); n > 0 {
		t.Errorf("%v allocations per request", n)
	}
}

// BenchmarkRequest is what the metrics cost a request (they cannot be
// turned off; bench row (g) measures tracing on top of them).
func BenchmarkRequest(b *testing.B) {
	m := New(false)
	for b.Loop() {
		m.Request("tools/call", "github", "x", OutcomeOK, time.Millisecond)
	}
}

func TestCountsReadAtScrape(t *testing.T) {
	m := New(false)
	m.ClientSession(SessionStarted)
	m.ClientSession(SessionStarted)
	m.ClientSession(SessionEnded)
	failures := map[string]uint64{"alpha": 3}
	m.DiscoveryFailures(func() map[string]uint64 { return failures })
	m.TokenFetches(func() []TokenFetch {
		// Two sources of one server (two replicas) are summed.
		return []TokenFetch{{"gh", "ok", 2}, {"gh", "ok", 1}, {"gh", "refused", 1}}
	})
	text := scrape(t, m)
	for _, want := range []string{
		`mcpgw_client_sessions_total{event="started"} 2`,
		`mcpgw_client_sessions_total{event="ended"} 1`,
		`mcpgw_upstream_discovery_failures_total{server="alpha"} 3`,
		`mcpgw_oauth2_token_fetches_total{outcome="ok",server="gh"} 3`,
		`mcpgw_oauth2_token_fetches_total{outcome="refused",server="gh"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in\n%s", want, text)
		}
	}
	failures["alpha"] = 4
	if text := scrape(t, m); !strings.Contains(text, `mcpgw_upstream_discovery_failures_total{server="alpha"} 4`) {
		t.Error("discovery failures not read again at the next scrape")
	}
}

// TestNewForSeries: a component's process exports only the series it
// fills, so a sum over the processes of a split deployment counts each
// event once (the sidecar has no request histogram, the ext_proc service
// no admin API writes).
func TestNewForSeries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		series    Series
		want, not []string
	}{
		{"extproc", RequestSeries | DecisionSeries,
			[]string{"mcp_server_operation_duration_seconds", "mcpgw_client_sessions_total", "mcpgw_policy_decisions_total", "go_goroutines"},
			[]string{"mcpgw_admin_api_writes_total"}},
		{"sidecar", DecisionSeries,
			[]string{"mcpgw_policy_decisions_total", "go_goroutines"},
			[]string{"mcp_server_operation_duration_seconds", "mcpgw_client_sessions_total", "mcpgw_admin_api_writes_total"}},
		{"run", AllSeries,
			[]string{"mcp_server_operation_duration_seconds", "mcpgw_client_sessions_total", "mcpgw_policy_decisions_total", "mcpgw_admin_api_writes_total"},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewFor(tc.series, false)
			// Recording what is not registered must not fail.
			m.Request("tools/call", "demo", "", OutcomeOK, time.Millisecond)
			m.Decision(true, false, false)
			m.ClientSession(SessionStarted)
			h := m.AdminAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/key/generate", nil))
			text := scrape(t, m)
			for _, name := range tc.want {
				if !strings.Contains(text, "\n"+name) && !strings.HasPrefix(text, name) {
					t.Errorf("no %s", name)
				}
			}
			for _, name := range tc.not {
				if strings.Contains(text, name) {
					t.Errorf("%s exported by a process that does not fill it", name)
				}
			}
		})
	}
}
