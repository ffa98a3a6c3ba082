package envoy

import (
	"os/exec"
	"testing"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// TestNoExtProc checks the benchmark-only baseline: the router is the only
// HTTP filter besides the ready path's, and everything else (route,
// clusters) is as usual.
func TestNoExtProc(t *testing.T) {
	p := baseParams(t)
	p.NoExtProc = true
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	hcm := hcmOf(t, b)
	filters := hcm.GetHttpFilters()
	if len(filters) != 2 || filters[0].GetName() != healthCheckFilterName || filters[1].GetName() != routerFilterName {
		t.Fatalf("http filters = %v, want the ready path's and the router", filters)
	}
	if got := routeOf(t, hcm).GetRoute().GetClusterHeader(); got != wellknown.RouteHeader {
		t.Errorf("route cluster_header = %q, want %q", got, wellknown.RouteHeader)
	}
	withExtProc, err := Bootstrap(baseParams(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(b.GetStaticResources().GetClusters()), len(withExtProc.GetStaticResources().GetClusters()); got != want {
		t.Errorf("%d clusters, want %d as with ext_proc", got, want)
	}
	if len(hcmOf(t, withExtProc).GetHttpFilters()) != 3 {
		t.Errorf("the default must still have the ready path, ext_proc and the router")
	}

	y, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	if !sameConfig(t, parseYAML(t, y), b) {
		t.Errorf("YAML does not round-trip\n%s", y)
	}
}

// TestNoExtProcValidatesWithEnvoy runs `envoy --mode validate` on the
// baseline config.
func TestNoExtProcValidatesWithEnvoy(t *testing.T) {
	bin := testutil.EnvoyBin(t)
	_, caFile := selfSignedCert(t)
	p := baseParams(t)
	p.NoExtProc = true
	p.CAFile = caFile
	cfg, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--mode", "validate", "-c", writeConfig(t, cfg), "--disable-hot-restart", "--log-level", "warn").CombinedOutput()
	if err != nil {
		t.Fatalf("envoy --mode validate: %v\n%s\nconfig:\n%s", err, out, cfg)
	}
}
