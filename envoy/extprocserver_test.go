package envoy

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// testProcessor is a minimal ext_proc service. It routes on the request
// path (routes maps a path to a cluster, "" = defaultCluster) and knows a
// few special paths:
//
//	/immediate/<code>  ImmediateResponse <code> with a JSON-RPC body
//	/route-in-body     routes to routes[path] from the body reply, without
//	                   clear_route_cache (relies on route_cache_action CLEAR)
//	/no-cluster        sets no x-mcp-cluster at all
//	/slow              never answers the headers message in time
//	/rewrite           mutates like a routed tools/call: from the body reply
//	                   sets x-mcp-cluster, :path, content-length and
//	                   mcp-name, removes mcp-session-id, replaces the body
type testProcessor struct {
	extprocv3.UnimplementedExternalProcessorServer
	defaultCluster string
	routes         map[string]string
	slow           time.Duration
	bodies         atomic.Int64 // request_body messages seen
	// accessLog, when set, is served beside it, as the gateway serves its
	// access log service (the fast path's access logger sends there).
	accessLog *testAccessLog
}

// What /rewrite turns a request into.
const (
	rewrittenPath = "/upstream/mcp?x=1"
	rewrittenBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`
)

// immediateBody is what /immediate/<code> answers; Envoy must pass it as is.
const immediateBody = `{"jsonrpc":"2.0","id":7,"error":{"code":-32001,"message":"from ext_proc"}}`

// serve starts p on a loopback port and returns the address and server.
func (p *testProcessor) serve(t *testing.T) (string, *grpc.Server) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(g, p)
	if p.accessLog != nil {
		g.RegisterService(&testAccessLogService, p.accessLog)
	}
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	return l.Addr().String(), g
}

func (p *testProcessor) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	var path string
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // Envoy cancels streams it no longer needs
		}
		var resp *extprocv3.ProcessingResponse
		switch r := req.Request.(type) {
		case *extprocv3.ProcessingRequest_RequestHeaders:
			path = header(r.RequestHeaders.GetHeaders(), ":path")
			resp = p.onRequestHeaders(path)
		case *extprocv3.ProcessingRequest_RequestBody:
			p.bodies.Add(1)
			var c *extprocv3.CommonResponse
			switch path {
			case "/route-in-body":
				c = &extprocv3.CommonResponse{HeaderMutation: setHeader(wellknown.RouteHeader, p.routes[path])}
			case "/rewrite":
				m := setHeader(wellknown.RouteHeader, p.defaultCluster)
				for _, kv := range [][2]string{{":path", rewrittenPath}, {"content-length", strconv.Itoa(len(rewrittenBody))}, {"mcp-name", "echo"}} {
					m.SetHeaders = append(m.SetHeaders, setHeader(kv[0], kv[1]).SetHeaders...)
				}
				m.RemoveHeaders = []string{"mcp-session-id"}
				c = &extprocv3.CommonResponse{
					HeaderMutation: m,
					BodyMutation:   &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte(rewrittenBody)}},
				}
			}
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
				RequestBody: &extprocv3.BodyResponse{Response: c},
			}}
		case *extprocv3.ProcessingRequest_ResponseHeaders:
			resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{
				ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
					HeaderMutation: setHeader("x-test-ext-proc", "response-seen"),
				}},
			}}
		default:
			return nil
		}
		if err := stream.Send(resp); err != nil {
			return nil
		}
	}
}

func (p *testProcessor) onRequestHeaders(path string) *extprocv3.ProcessingResponse {
	headers := func(c *extprocv3.CommonResponse) *extprocv3.ProcessingResponse {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
			RequestHeaders: &extprocv3.HeadersResponse{Response: c},
		}}
	}
	switch {
	case strings.HasPrefix(path, "/immediate/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(path, "/immediate/"))
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
			ImmediateResponse: &extprocv3.ImmediateResponse{
				Status:  &typev3.HttpStatus{Code: typev3.StatusCode(code)},
				Headers: setHeader("content-type", "application/json"),
				Body:    []byte(immediateBody),
				Details: "mcpgw_reply",
			},
		}}
	case path == "/route-in-body":
		return headers(nil)
	case path == "/no-cluster":
		return headers(&extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{}, ClearRouteCache: true})
	case path == "/slow":
		time.Sleep(p.slow)
	}
	cluster := p.routes[path]
	if cluster == "" {
		cluster = p.defaultCluster
	}
	return headers(&extprocv3.CommonResponse{
		HeaderMutation:  setHeader(wellknown.RouteHeader, cluster),
		ClearRouteCache: true,
	})
}

// setHeader sets one header via raw_value (Envoy ignores value).
func setHeader(name, value string) *extprocv3.HeaderMutation {
	return &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{{
		Header: &corev3.HeaderValue{Key: name, RawValue: []byte(value)},
	}}}
}

func header(m *corev3.HeaderMap, name string) string {
	for _, h := range m.GetHeaders() {
		if h.GetKey() == name {
			return string(h.GetRawValue())
		}
	}
	return ""
}
