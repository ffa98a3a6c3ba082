package grafana

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/metrics"
)

// dashboard is the part of Grafana's dashboard JSON the test reads.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	} `json:"panels"`
}

// exported returns the names of the series the gateway's /metrics
// exposes (a histogram's _bucket, _sum and _count), with every metric
// given a sample so that each family shows.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New(true)
	m.UpstreamSessions(func() int { return 1 })
	m.Request("tools/call", "alpha", "echo", metrics.OutcomeOK, time.Millisecond)
	m.Decision(true, false, false)
	m.DiscoveryFailures(func() map[string]uint64 { return map[string]uint64{"alpha": 1} })
	m.TokenFetches(func() []metrics.TokenFetch { return []metrics.TokenFetch{{Server: "alpha", Outcome: "ok", N: 1}} })
	m.ClientSession(metrics.SessionStarted)
	h := m.AdminAPI(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/key/generate", nil))
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		n := f.GetName()
		names[n] = true
		if f.GetType().String() == "HISTOGRAM" {
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		}
	}
	return names
}

var (
	// What is not a metric name in PromQL: label matchers, range and
	// subquery selectors, strings, Grafana variables, grouping clauses.
	strip = []*regexp.Regexp{
		regexp.MustCompile(`"(?:[^"\\]|\\.)*"`),
		regexp.MustCompile(`\{[^}]*\}`),
		regexp.MustCompile(`\[[^\]]*\]`),
		regexp.MustCompile(`\$\{?\w+\}?`),
		regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`),
		regexp.MustCompile(`\b[0-9][0-9a-zA-Z.]*`), // numbers, durations (5m)
	}
	// Grafana's label_values(metric, label): the label is not a metric.
	labelValues = regexp.MustCompile(`label_values\(([^,)]+)(?:,[^)]*)?\)`)
	identifier  = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	keywords    = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan"}
)

// metricNames are the metric names expr selects.
func metricNames(expr string) []string {
	for _, re := range strip {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, m := range identifier.FindAllStringSubmatch(expr, -1) {
		if m[1] != "" { // a function call
			continue
		}
		if slices.Contains(keywords, strings.ToLower(m[0])) {
			continue
		}
		names = append(names, m[0])
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want []string
	}{
		{`sum by (server, le) (rate(mcp_server_operation_duration_seconds_bucket{mcp_method_name="tools/call", server=~"$server"}[$__rate_interval]))`,
			[]string{"mcp_server_operation_duration_seconds_bucket"}},
		{`histogram_quantile(0.95, sum by (le) (rate(a_bucket[5m]))) / on(job) group_left(x) b > 0 and c offset 5m`, []string{"a_bucket", "b", "c"}},
	} {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// TestDashboard: mcpgw.json is a dashboard whose every query names only
// metrics the gateway exports at /metrics, or Envoy's (envoy_*, at
// /metrics/envoy).
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("mcpgw.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("mcpgw.json: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("uid %q title %q, %d panels", d.UID, d.Title, len(d.Panels))
	}
	have := exported(t)
	var exprs []string
	for _, v := range d.Templating.List {
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %q, want the ${datasource} variable", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, e := range exprs {
		names := metricNames(labelValues.ReplaceAllString(e, "$1"))
		if len(names) == 0 {
			t.Errorf("%q selects no metric", e)
		}
		for _, n := range names {
			used[n] = true
			if !have[n] && !strings.HasPrefix(n, "envoy_") {
				t.Errorf("%q: %s is not a metric the gateway exports", e, n)
			}
		}
	}
	// Every metric of the gateway's own is on the dashboard.
	for _, n := range []string{"mcp_server_operation_duration_seconds_count", "mcp_server_operation_duration_seconds_bucket",
		"mcpgw_policy_decisions_total", "mcpgw_upstream_discovery_failures_total", "mcpgw_admin_api_writes_total", "mcpgw_upstream_sessions_open",
		"mcpgw_client_sessions_total", "mcpgw_oauth2_token_fetches_total"} {
		if !have[n] {
			t.Errorf("%s is not exported any more: update this test and the dashboard", n)
		}
		if !used[n] {
			t.Errorf("%s is not on the dashboard", n)
		}
	}
}
