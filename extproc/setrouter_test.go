package extproc

import (
	"context"
	"net/url"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/upstreams"
)

// routerFor builds a router over HTTP upstreams with the given aliases.
func routerFor(t *testing.T, aliases ...string) *router.Router {
	t.Helper()
	names, err := namespace.NewRegistry(aliases, "-")
	if err != nil {
		t.Fatal(err)
	}
	var ups []*upstreams.Upstream
	for _, a := range aliases {
		u, _ := url.Parse("http://127.0.0.1:9/" + a)
		ups = append(ups, &upstreams.Upstream{Alias: a, Transport: upstreams.TransportHTTP, URL: u, Cluster: upstreams.ClusterName(a)})
	}
	r, err := router.New(names, ups, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A new router decides the requests that start after SetRouter; a
// request in flight finishes with the one it started with.
func TestSetRouter(t *testing.T) {
	svc := New(routerFor(t, "demo"), &fakeSessions{}, nil)
	client := extprocv3.NewExternalProcessorClient(serveInMemory(t, svc))

	start := func() func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
		stream, err := client.Process(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stream.CloseSend() })
		send := exchange(t, stream)
		send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
			Headers: hdrs(":method", "POST", ":path", "/mcp", "mcp-session-id", "gw-1"),
		}}})
		return send
	}
	// call sends a tools/call body and returns the cluster it goes to, or
	// the error the gateway answers with.
	call := func(send func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse, tool string) string {
		body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `"}}`)
		resp := send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}})
		if ir := resp.GetImmediateResponse(); ir != nil {
			return string(ir.GetBody())
		}
		return set(resp.GetRequestBody().GetResponse().GetHeaderMutation())["x-mcp-cluster"]
	}

	inFlight := start()
	svc.SetRouter(routerFor(t, "extra"))
	if got := call(inFlight, "demo-echo"); got != "mcp_upstream_demo" {
		t.Errorf("request in flight: %q, want the router it started with", got)
	}
	if got := call(start(), "extra-echo"); got != "mcp_upstream_extra" {
		t.Errorf("added server: %q", got)
	}
	if got := call(start(), "demo-echo"); !strings.Contains(got, "Unknown tool") {
		t.Errorf("removed server: %q, want the unknown tool error", got)
	}
	if svc.Router() == nil {
		t.Fatal("Router() = nil")
	}
}
