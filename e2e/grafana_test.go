//go:build linux

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaEnvoyMetrics: the Envoy metrics deploy/grafana/mcpgw.json
// queries are in a running gateway's /metrics/envoy after a tool call
// (deploy/grafana's own test checks the gateway's metrics).
func TestGrafanaEnvoyMetrics(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/mcpgw.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, n := range regexp.MustCompile(`\benvoy_[a-z0-9_]+\b`).FindAllString(regexp.MustCompile(`\{[^}]*\}|\bby\s*\([^)]*\)`).ReplaceAllString(tg.Expr, ""), -1) {
				names[n] = true
			}
		}
	}
	if len(names) == 0 {
		t.Fatal("the dashboard queries no Envoy metric")
	}
	up := startUpstream(t, "alpha", true, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": up.URL}))
	cs := connect(t, gw.Endpoint)
	mustText(t, cs, "alpha-echo", map[string]any{"text": "x"})
	var text string
	waitFor(t, "Envoy's upstream histogram", func() bool {
		var code int
		code, text = opsGet(gw.OpsAddr, "/metrics/envoy")
		return code == http.StatusOK && strings.Contains(text, "envoy_cluster_upstream_rq_time_bucket{")
	})
	for n := range names {
		if !strings.Contains(text, "\n"+n+"{") && !strings.Contains(text, "\n"+n+" ") {
			t.Errorf("%s is not in /metrics/envoy", n)
		}
	}
}
