package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// dynamicClusters lists the clusters Envoy got over xDS, from its admin
// interface.
func dynamicClusters(t *testing.T, admin string) []string {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/config_dump?resource=dynamic_active_clusters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Configs []struct {
			Cluster struct {
				Name string `json:"name"`
			} `json:"cluster"`
		} `json:"configs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range d.Configs {
		out = append(out, c.Cluster.Name)
	}
	slices.Sort(out)
	return out
}

// Start gives Envoy its upstream clusters over xDS, and updateEnvoy
// changes them while it runs, answering once Envoy has them.
func TestUpdateEnvoy(t *testing.T) {
	a := httptest.NewServer(demo.Handler(false))
	t.Cleanup(a.Close)
	b := httptest.NewServer(demo.Handler(false))
	t.Cleanup(b.Close)
	inst, _ := startInstance(t, fmt.Sprintf("mcp_servers:\n  a:\n    url: %q\n    transport: http\n", a.URL+"/mcp"))
	ctx := t.Context()
	if got := dynamicClusters(t, inst.AdminAddr); !slices.Equal(got, []string{"mcp_upstream_a"}) {
		t.Fatalf("clusters at start %v", got)
	}

	bURL, _ := url.Parse(b.URL + "/mcp")
	added := append(slices.Clone(inst.Runtime.Upstreams),
		&upstreams.Upstream{Alias: "b", Transport: upstreams.TransportHTTP, URL: bURL, Cluster: upstreams.ClusterName("b")})
	if err := inst.updateEnvoy(ctx, added, inst.Runtime.Access.Current()); err != nil {
		t.Fatal(err)
	}
	if got := dynamicClusters(t, inst.AdminAddr); !slices.Equal(got, []string{"mcp_upstream_a", "mcp_upstream_b"}) {
		t.Errorf("clusters after adding b %v", got)
	}
	if err := inst.updateEnvoy(ctx, added[1:], inst.Runtime.Access.Current()); err != nil {
		t.Fatal(err)
	}
	if got := dynamicClusters(t, inst.AdminAddr); !slices.Equal(got, []string{"mcp_upstream_b"}) {
		t.Errorf("clusters after removing a %v", got)
	}
	bad := &upstreams.Upstream{Alias: "c", Transport: upstreams.TransportHTTP, URL: &url.URL{Scheme: "ftp", Host: "c"}, Cluster: upstreams.ClusterName("c")}
	if err := inst.updateEnvoy(ctx, []*upstreams.Upstream{bad}, inst.Runtime.Access.Current()); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("a bad upstream: %v", err)
	}
	if got := dynamicClusters(t, inst.AdminAddr); !slices.Equal(got, []string{"mcp_upstream_b"}) {
		t.Errorf("clusters after a refused update %v", got)
	}
}
