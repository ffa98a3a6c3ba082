package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// TestMCPFilterBootstrap checks scenario (d)'s Envoy config: the mcp filter
// just ahead of the router, the tools/call route on its metadata, and
// (with ENVOY_BIN) that Envoy accepts it.
func TestMCPFilterBootstrap(t *testing.T) {
	rt, err := runtimeFor("http://127.0.0.1:4100/mcp", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := baselineBootstrap(rt, 4000, filepath.Join(t.TempDir(), "access.log"), true)
	if err != nil {
		t.Fatal(err)
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := b.GetStaticResources().GetListeners()[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatal(err)
	}
	var filters, routes []string
	for _, f := range hcm.GetHttpFilters() {
		filters = append(filters, f.GetName())
	}
	for _, r := range hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes() {
		routes = append(routes, r.GetName())
	}
	if want := []string{"envoy.filters.http.health_check", mcpFilterName, "envoy.filters.http.router"}; !slices.Equal(filters, want) {
		t.Errorf("http filters %v, want %v", filters, want)
	}
	if want := []string{"ready", mcpToolsCallRoute, mcpOtherRouteName}; !slices.Equal(routes, want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	call := hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes()[1]
	if got := call.GetMatch().GetDynamicMetadata()[0].GetValue().GetStringMatch().GetExact(); got != "tools/call" {
		t.Errorf("tools/call route matches method %q", got)
	}
	if got := call.GetRoute().GetCluster(); got != rt.Upstreams[0].Cluster {
		t.Errorf("tools/call route goes to %q, want %q", got, rt.Upstreams[0].Cluster)
	}

	bin := testutil.EnvoyBin(t)
	y, err := envoy.ToYAML(b, "test")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(path, y, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--mode", "validate", "-c", path, "--disable-hot-restart", "--log-level", "warn").CombinedOutput()
	if err != nil {
		t.Fatalf("envoy --mode validate: %v\n%s\nconfig:\n%s", err, out, y)
	}
}

// TestKeyedConfig checks that scenario (e) is not an open gateway: a
// master key, one key, allowed_params on the server.
func TestKeyedConfig(t *testing.T) {
	rt, err := runtimeFor("http://127.0.0.1:4100/mcp", true)
	if err != nil {
		t.Fatal(err)
	}
	if rt.Config.General.MasterKeyHash == "" || len(rt.Config.Access.Keys) != 1 {
		t.Errorf("master key set %v, %d keys; want a master key and one key", rt.Config.General.MasterKeyHash != "", len(rt.Config.Access.Keys))
	}
	if !strings.Contains(keyedConfig("http://x/mcp"), "allowed_params:") {
		t.Error("no allowed_params in the keyed config")
	}
}

func TestParseFlagsRows(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-envoy", "e"}, ""},
		{[]string{"-envoy", "e", "-rows", "be"}, ""},
		{[]string{"-envoy", "e", "-rows", "bx"}, "-rows"},
		{[]string{"-envoy", "e", "-rows", "cg"}, ""},
		{[]string{"-envoy", "e", "-rows", "cf"}, "needs -litellm"},
		{[]string{"-envoy", "e", "-rows", "cf", "-litellm", "/bin/true"}, ""},
		{[]string{"-envoy", "e", "-sessions", "-1"}, "-sessions"},
	} {
		_, err := parseFlags(tc.args)
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("parseFlags(%q) = %v, want error containing %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestProcStatus(t *testing.T) {
	rss, err := procStatus(os.Getpid(), "VmRSS")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if rss <= 0 {
		t.Errorf("VmRSS %d", rss)
	}
	if _, err := procStatus(os.Getpid(), "NoSuchField"); err == nil {
		t.Error("no error for a missing field")
	}
}

// TestForEach: every index once, and the first error stops the rest.
func TestForEach(t *testing.T) {
	var n atomic.Int64
	if err := forEach(t.Context(), 100, func(context.Context, int) error { n.Add(1); return nil }); err != nil || n.Load() != 100 {
		t.Fatalf("forEach: %v, %d calls", err, n.Load())
	}
	boom := errors.New("boom")
	err := forEach(t.Context(), 1000, func(_ context.Context, i int) error {
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("forEach error %v, want %v", err, boom)
	}
}

// TestListConfig: the tools/list scenario lists by a key, not the master
// key, whose tool permissions hide half the tools of half the servers.
func TestListConfig(t *testing.T) {
	urls := make([]string, listUpstreams)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d/mcp", 4100+i)
	}
	cfg, err := configfile.Parse([]byte(listConfig(urls)), "lists.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.General.MasterKeyHash == "" || len(cfg.Access.Keys) != 1 || len(cfg.Servers) != listUpstreams {
		t.Fatalf("master key %v, %d keys, %d servers", cfg.General.MasterKeyHash != "", len(cfg.Access.Keys), len(cfg.Servers))
	}
	if listVisible != 1500 {
		t.Errorf("listVisible = %d: the report says 3 pages of 500", listVisible)
	}
}

// TestDecodePage: a page is counted from either answer form, and an
// error answer is an error.
func TestDecodePage(t *testing.T) {
	page := `{"jsonrpc":"2.0","id":1,"result":{"nextCursor":"c2","tools":[{"name":"a","inputSchema":{"type":"object"}},{"name":"b"}]}}`
	for _, c := range []struct {
		name, ctype, data string
		n                 int
		next              string
		err               bool
	}{
		{"json", "application/json", page, 2, "c2", false},
		{"event stream", "text/event-stream", "event: message\ndata: " + page + "\n\n", 2, "c2", false},
		{"error", "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"invalid cursor"}}`, 0, "", true},
		{"not JSON", "application/json", `{"jsonrpc"`, 0, "", true},
	} {
		n, next, err := decodePage([]byte(c.data), c.ctype)
		if n != c.n || next != c.next || (err != nil) != c.err {
			t.Errorf("%s: %d %q %v, want %d %q error %v", c.name, n, next, err, c.n, c.next, c.err)
		}
	}
}
