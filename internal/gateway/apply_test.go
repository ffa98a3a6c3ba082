package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// demoUpstream serves the demo MCP server over Streamable HTTP and
// returns its URL.
func demoUpstream(t *testing.T) string {
	t.Helper()
	srv := demo.NewServer()
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts.URL + "/mcp"
}

func configWith(t *testing.T, servers map[string]string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("mcp_servers:\n")
	for _, alias := range slices.Sorted(func(yield func(string) bool) {
		for a := range servers {
			if !yield(a) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "  %s:\n    url: %q\n    transport: http\n", alias, servers[alias])
	}
	b.WriteString("access:\n  decision_log:\n    output: \"off\"\n")
	cfg, err := configfile.Parse([]byte(b.String()), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startReplicas runs an instance's replicas (ext_proc service and
// sidecar, no Envoy) on cfg.
func startReplicas(t *testing.T, cfg *config.Config, replicas int) *Instance {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	inst := &Instance{cancel: cancel, errc: make(chan error, 4), log: log}
	t.Cleanup(func() {
		inst.Close()
		testutil.CheckNoLeaks(t)
	})
	first, err := listenLoopback(0)
	if err != nil {
		t.Fatal(err)
	}
	WithAdapterEndpoints(first.Addr().String())(&inst.build)
	for i := range replicas {
		rt, err := build(cfg, nil, &inst.build)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			inst.Runtime = rt
			inst.current.Store(rt)
		}
		lis := first
		if i > 0 {
			lis = nil
		}
		if _, err := inst.startReplica(ctx, rt, log, lis); err != nil {
			t.Fatal(err)
		}
	}
	return inst
}

// routeOf sends a tools/call of tool, in client session session, to the
// ext_proc service at addr and returns the cluster it is routed to, or
// the error body the service answers with.
func routeOf(t *testing.T, addr, session, tool string) string {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := extprocv3.NewExternalProcessorClient(conn).Process(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.CloseSend()
	send := func(r *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		t.Helper()
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	h := &corev3.HeaderMap{}
	for _, kv := range [][2]string{{":method", "POST"}, {":path", "/mcp"}, {"mcp-session-id", session}, {"mcp-protocol-version", "2025-11-25"}} {
		h.Headers = append(h.Headers, &corev3.HeaderValue{Key: kv[0], RawValue: []byte(kv[1])})
	}
	if resp := send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: h}}}); resp.GetImmediateResponse() != nil {
		return string(resp.GetImmediateResponse().GetBody())
	}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"text":"x"}}}`
	resp := send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}})
	if ir := resp.GetImmediateResponse(); ir != nil {
		return string(ir.GetBody())
	}
	for _, m := range resp.GetRequestBody().GetResponse().GetHeaderMutation().GetSetHeaders() {
		if m.GetHeader().GetKey() == "x-mcp-cluster" {
			return string(m.GetHeader().GetRawValue())
		}
	}
	return "not rerouted" // stays with the sidecar, as the headers phase sent it
}

func sidecarTools(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	var out []string
	for tool, err := range cs.Tools(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tool.Name)
	}
	slices.Sort(out)
	return out
}

// Apply on running replicas: a server added is listed by every sidecar
// (an open client session hears tools/list_changed) and routed by every
// router; a server removed is gone from both, its calls refused like
// unknown tools.
func TestApplyServers(t *testing.T) {
	alpha, beta := demoUpstream(t), demoUpstream(t)
	inst := startReplicas(t, configWith(t, map[string]string{"alpha": alpha}), 2)

	var sessions []*mcp.ClientSession
	changed := make(chan int, 20)
	for i, r := range inst.Replicas {
		c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
			ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- i },
		})
		cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: "http://" + r.SidecarAddr + "/mcp", MaxRetries: -1},
			&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		sessions = append(sessions, cs)
	}
	time.Sleep(200 * time.Millisecond) // the GET streams open

	if err := inst.Apply(t.Context(), configWith(t, map[string]string{"alpha": alpha, "beta": beta})); err != nil {
		t.Fatal(err)
	}
	heard := map[int]bool{}
	for len(heard) < len(inst.Replicas) {
		select {
		case i := <-changed:
			heard[i] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("tools/list_changed heard by replicas %v only", heard)
		}
	}
	for i, r := range inst.Replicas {
		if got := sidecarTools(t, sessions[i]); !slices.Contains(got, "beta-echo") || !slices.Contains(got, "alpha-echo") {
			t.Errorf("replica %d lists %v", i, got)
		}
		if got := routeOf(t, r.ExtProcAddr, sessions[i].ID(), "beta-echo"); got != upstreams.ClusterName("beta") {
			t.Errorf("replica %d routes beta-echo to %q", i, got)
		}
	}
	if inst.Current().Names.Has("beta") != true {
		t.Error("Current does not name the added server")
	}

	// Removed: gone from lists, refused like an unknown tool.
	if err := inst.Apply(t.Context(), configWith(t, map[string]string{"beta": beta})); err != nil {
		t.Fatal(err)
	}
	for i, r := range inst.Replicas {
		if got := sidecarTools(t, sessions[i]); slices.Contains(got, "alpha-echo") || !slices.Contains(got, "beta-echo") {
			t.Errorf("replica %d lists %v after the removal", i, got)
		}
		if got := routeOf(t, r.ExtProcAddr, sessions[i].ID(), "alpha-echo"); !strings.Contains(got, "Unknown tool: alpha-echo") {
			t.Errorf("replica %d: removed server's tool: %q", i, got)
		}
		if _, err := sessions[i].CallTool(t.Context(), &mcp.CallToolParams{Name: "alpha-echo", Arguments: map[string]any{"text": "x"}}); err == nil ||
			!strings.Contains(err.Error(), "Unknown tool") {
			t.Errorf("replica %d sidecar: removed server's tool: %v", i, err)
		}
	}

	// A config that cannot be built changes nothing.
	bad := configWith(t, map[string]string{"alpha": alpha})
	bad.General.MCPToolPrefixSeparator = "" // kept from the running config: fine
	bad.Servers[0].URL = ""
	if err := inst.Apply(t.Context(), bad); err == nil {
		t.Error("a server without a URL applied")
	}
	if got := sidecarTools(t, sessions[0]); !slices.Contains(got, "beta-echo") {
		t.Errorf("a refused apply changed the lists: %v", got)
	}
}
