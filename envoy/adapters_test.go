package envoy

import (
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Adapted servers get a cluster to the sidecar's adapter endpoint once
// bound, and none before.
func TestAdapterClusters(t *testing.T) {
	ups := []*upstreams.Upstream{
		{Alias: "memory", Transport: upstreams.TransportStdio, Cluster: upstreams.ClusterName("memory"),
			Adapter: &upstreams.Adapter{Kind: upstreams.AdapterStdio, Command: "npx"}},
		{Alias: "pets", Transport: upstreams.TransportHTTP, Cluster: upstreams.ClusterName("pets"),
			Adapter: &upstreams.Adapter{Kind: upstreams.AdapterOpenAPI, SpecPath: "p.yaml"}},
	}
	p := Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", Upstreams: ups}
	out, err := Render(p)
	if err != nil {
		t.Fatalf("unbound adapters: %v", err)
	}
	if strings.Contains(string(out), "mcp_upstream_memory") {
		t.Error("an unbound adapter got a cluster")
	}
	bound, err := upstreams.BindAdapters(ups, "127.0.0.1:9003")
	if err != nil {
		t.Fatal(err)
	}
	p.Upstreams = bound
	out, err = Render(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"mcp_upstream_memory", "mcp_upstream_pets"} {
		if !strings.Contains(string(out), "name: "+c) {
			t.Errorf("no cluster %s in:\n%s", c, out)
		}
	}
}
