package xds

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

// named answers every request with its name; /slow after a pause.
func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("content-type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"result":{"from":%q}}`, name)
	})
}

// configDump is the part of Envoy's /config_dump the test reads.
type configDump struct {
	Configs []struct {
		Type     string `json:"@type"`
		Clusters []struct {
			VersionInfo string `json:"version_info"`
			Cluster     struct {
				Name string `json:"name"`
			} `json:"cluster"`
		} `json:"dynamic_active_clusters"`
		Routes []struct {
			RouteConfig struct {
				Name         string `json:"name"`
				VirtualHosts []struct {
					Routes []struct {
						Name string `json:"name"`
					} `json:"routes"`
				} `json:"virtual_hosts"`
			} `json:"route_config"`
		} `json:"dynamic_route_configs"`
	} `json:"configs"`
}

// dynamic returns Envoy's dynamic clusters (name → version) and the
// routes of its dynamic route table.
func dynamic(t *testing.T, admin string) (map[string]string, []string) {
	t.Helper()
	resp, err := http.Get(admin + "/config_dump")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d configDump
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	clusters := map[string]string{}
	var routes []string
	for _, c := range d.Configs {
		for _, dc := range c.Clusters {
			clusters[dc.Cluster.Name] = dc.VersionInfo
		}
		for _, rc := range c.Routes {
			if rc.RouteConfig.Name != envoy.RouteConfigName {
				t.Errorf("route table %q", rc.RouteConfig.Name)
			}
			for _, vh := range rc.RouteConfig.VirtualHosts {
				for _, r := range vh.Routes {
					routes = append(routes, r.Name)
				}
			}
		}
	}
	return clusters, routes
}

// TestEnvoyLive runs Envoy 1.40 on a bootstrap that takes its upstream
// clusters and routes from the Server: Envoy is not ready before the
// first snapshot; servers added at run time are routed to, removed ones
// leave Envoy, and a call in flight on an unchanged server completes.
func TestEnvoyLive(t *testing.T) {
	bin := testutil.EnvoyBin(t)
	sidecar := httptest.NewServer(named("sidecar"))
	t.Cleanup(sidecar.Close)
	steady := httptest.NewServer(named("steady"))
	t.Cleanup(steady.Close)
	fresh := httptest.NewServer(named("fresh"))
	t.Cleanup(fresh.Close)

	s := New(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	t.Cleanup(s.Stop)

	p := envoy.Params{
		ListenAddress:  "127.0.0.1",
		ListenPort:     testutil.FreePort(t),
		AdminAddress:   "127.0.0.1",
		AdminPort:      testutil.FreePort(t),
		ExtProcAddress: "127.0.0.1:1", // not used: no ext_proc filter
		SidecarAddress: sidecar.Listener.Addr().String(),
		XDSAddress:     lis.Addr().String(),
		// The client picks the route with x-mcp-cluster itself.
		NoExtProc: true,
		AccessLog: filepath.Join(t.TempDir(), "access.log"),
	}
	cfg, err := envoy.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-c", path, "--disable-hot-restart", "--concurrency", "1", "--log-level", "warn")
	var out testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("envoy output:\n%s", out.String())
		}
	})
	admin := "http://" + net.JoinHostPort(p.AdminAddress, strconv.Itoa(p.AdminPort))
	ready := func() bool {
		resp, err := http.Get(admin + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	// No snapshot yet: Envoy waits for its clusters and routes (the
	// initial fetch has no timeout), whatever the default 15 s says.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if ready() {
			t.Fatal("Envoy ready before it had its clusters and routes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	up := func(alias, base string) *upstreams.Upstream {
		return httpUpstream(t, alias, base+"/mcp")
	}
	update := func(ups ...*upstreams.Upstream) {
		t.Helper()
		q := p
		q.Upstreams = ups
		v, err := s.Update(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := s.WaitAcked(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	update(up("steady", steady.URL))
	deadline = time.Now().Add(10 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatal("Envoy not ready 10 s after its first snapshot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	clusters, routes := dynamic(t, admin)
	steadyVersion := clusters["mcp_upstream_steady"]
	if len(clusters) != 1 || steadyVersion == "" {
		t.Fatalf("dynamic clusters %v", clusters)
	}
	if want := "ready,upstream:steady,by_cluster_header"; strings.Join(routes, ",") != want {
		t.Fatalf("routes %v, want %s", routes, want)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	call := func(cluster, path string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d%s", p.ListenPort, path), strings.NewReader(`{}`))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		req.Header.Set(wellknown.RouteHeader, cluster)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("mcp_upstream_steady", "/mcp"); code != 200 || !strings.Contains(body, "steady") {
		t.Fatalf("steady: %d %s", code, body)
	}

	// A call in flight on steady while fresh comes and goes.
	type result struct {
		code int
		body string
	}
	slow := make(chan result, 1)
	go func() {
		code, body := call("mcp_upstream_steady", "/slow")
		slow <- result{code, body}
	}()
	time.Sleep(200 * time.Millisecond) // the call is with steady

	update(up("steady", steady.URL), up("fresh", fresh.URL))
	if code, body := call("mcp_upstream_fresh", "/mcp"); code != 200 || !strings.Contains(body, `"from":"fresh"`) {
		t.Errorf("fresh after adding: %d %s", code, body)
	}
	clusters, routes = dynamic(t, admin)
	if _, ok := clusters["mcp_upstream_fresh"]; !ok || clusters["mcp_upstream_steady"] != steadyVersion {
		t.Errorf("after adding: clusters %v (steady was %s)", clusters, steadyVersion)
	}
	if want := "ready,upstream:steady,upstream:fresh,by_cluster_header"; strings.Join(routes, ",") != want {
		t.Errorf("routes %v, want %s", routes, want)
	}

	update(up("steady", steady.URL))
	clusters, routes = dynamic(t, admin)
	if _, ok := clusters["mcp_upstream_fresh"]; ok || clusters["mcp_upstream_steady"] != steadyVersion {
		t.Errorf("after removing: clusters %v", clusters)
	}
	if want := "ready,upstream:steady,by_cluster_header"; strings.Join(routes, ",") != want {
		t.Errorf("routes %v, want %s", routes, want)
	}
	if code, body := call("mcp_upstream_fresh", "/mcp"); code != http.StatusServiceUnavailable {
		t.Errorf("fresh after removing: %d %s", code, body)
	}

	select {
	case r := <-slow:
		if r.code != 200 || !strings.Contains(r.body, `"from":"steady"`) {
			t.Errorf("the call in flight on steady got %d %s", r.code, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call in flight on steady did not complete")
	}
}
