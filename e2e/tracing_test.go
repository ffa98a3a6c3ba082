package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/telemetry"
)

// otlpReceiver is an OTLP/gRPC trace collector in the test: it keeps
// every span it is sent, with its resource's service.name.
type otlpReceiver struct {
	collectortracepb.UnimplementedTraceServiceServer
	addr  string
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	service string
	span    *tracepb.Span
}

func (r *otlpReceiver) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := attrString(rs.GetResource().GetAttributes(), "service.name")
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, receivedSpan{service, s})
			}
		}
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

// find returns the spans for which keep holds.
func (r *otlpReceiver) find(keep func(receivedSpan) bool) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{addr: lis.Addr().String()}
	g := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(g, r)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return r
}

func attrString(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			v := kv.GetValue()
			if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
				return s.StringValue
			}
			if i, ok := v.GetValue().(*commonpb.AnyValue_IntValue); ok {
				return fmt.Sprint(i.IntValue)
			}
			return v.String()
		}
	}
	return ""
}

// seenCall is what the upstream saw of one tools/call.
type seenCall struct {
	tool, header, meta, progress string
}

// TestTracesThroughEnvoy: with tracing on (OTLP over gRPC to a receiver
// in the test), one tools/call gives the ext_proc service's span named by
// the OTel MCP conventions, with their attributes, in the trace of the
// client's traceparent, under Envoy's own spans, which the receiver gets
// too; the upstream sees the same trace in its traceparent header and in
// params._meta (beside the client's own _meta). A tool error is typed
// tool_error. A tools/list the sidecar serves has the sidecar's span,
// under Envoy's request to the sidecar.
func TestTracesThroughEnvoy(t *testing.T) {
	rcv := startOTLPReceiver(t)

	srv := mcp.NewServer(&mcp.Implementation{Name: "alpha", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "fail"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "it failed"}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	var mu sync.Mutex
	var seen []seenCall
	upURL := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			var msg struct {
				Method string
				Params struct {
					Name string
					Meta map[string]any `json:"_meta"`
				}
			}
			if json.Unmarshal(body, &msg) == nil && msg.Method == "tools/call" {
				tp, _ := msg.Params.Meta["traceparent"].(string)
				mu.Lock()
				seen = append(seen, seenCall{msg.Params.Name, r.Header.Get("traceparent"), tp, fmt.Sprint(msg.Params.Meta["progressToken"])})
				mu.Unlock()
			}
		}
		h.ServeHTTP(w, r)
	}))

	ctx := t.Context()
	tr, err := telemetry.Start(ctx, telemetry.Config{Enabled: true, Protocol: telemetry.ProtocolGRPC, Endpoint: "http://" + rcv.addr,
		ServiceName: "mcpgw", Sampler: "parentbased_always_on", Ratio: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Shutdown(context.Background()) })
	const master = "sk-master-0123456789"
	cfg := fmt.Sprintf("general_settings:\n  master_key: %s\nmcp_servers:\n  alpha:\n    url: %q\n", master, upURL)
	inst, _ := startGateway(t, cfg, gateway.Options{Port: mustFreePort(t), Tracing: tr})

	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const clientSpan = "00f067aa0ba902b7"
	hdr := map[string]string{"x-litellm-api-key": "Bearer " + master, "MCP-Protocol-Version": "2025-06-18",
		"traceparent": "00-" + clientTrace + "-" + clientSpan + "-01"}
	code, _, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"alpha-echo","arguments":{"text":"hi"},"_meta":{"progressToken":"p-1"}}}`), hdr)
	if code != http.StatusOK || !strings.Contains(body, "hi") {
		t.Fatalf("alpha-echo: %d %s", code, body)
	}
	delete(hdr, "traceparent")
	if code, _, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"alpha-fail","arguments":{"text":"x"}}}`), hdr); code != http.StatusOK || !strings.Contains(body, `"isError":true`) {
		t.Fatalf("alpha-fail: %d %s", code, body)
	}
	// A list the sidecar serves: its span too, under Envoy's request to
	// the sidecar.
	const listTrace = "5bf92f3577b34da6a3ce929d0e0e4737"
	hdr["traceparent"] = "00-" + listTrace + "-" + clientSpan + "-01"
	if code, _, body := post(t, inst.Endpoint, []byte(`{"jsonrpc":"2.0","id":43,"method":"tools/list"}`), hdr); code != http.StatusOK || !strings.Contains(body, "alpha-echo") {
		t.Fatalf("tools/list: %d %s", code, body)
	}
	delete(hdr, "traceparent")
	if err := tr.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}

	// The gateway's span of the call.
	var call *tracepb.Span
	waitFor(t, "the gateway's span of alpha-echo", func() bool {
		s := rcv.find(func(s receivedSpan) bool { return s.service == "mcpgw" && s.span.GetName() == "tools/call alpha-echo" })
		if len(s) == 1 {
			call = s[0].span
		}
		return call != nil
	})
	traceID := hex.EncodeToString(call.GetTraceId())
	if traceID != clientTrace {
		t.Errorf("span in trace %s, want the client's %s", traceID, clientTrace)
	}
	if call.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("span kind %v", call.GetKind())
	}
	for k, v := range map[string]string{
		"mcp.method.name": "tools/call", "gen_ai.tool.name": "alpha-echo", "gen_ai.operation.name": "execute_tool",
		"jsonrpc.request.id": "41", "mcp.protocol.version": "2025-06-18", "network.transport": "tcp",
		"mcpgw.server": "alpha", "mcpgw.tool": "echo", "mcpgw.outcome": "ok", "http.response.status_code": "200",
	} {
		if got := attrString(call.GetAttributes(), k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if attrString(call.GetAttributes(), "mcpgw.request_id") == "" || attrString(call.GetAttributes(), "server.port") != fmt.Sprint(inst.Port) {
		t.Errorf("request id or server port missing: %v", call.GetAttributes())
	}

	// Envoy's spans are in the same trace: the one of the client's
	// request (a child of the client's span), and the gateway's span is
	// below Envoy's.
	var envoySpans []receivedSpan
	waitFor(t, "Envoy's spans in the client's trace", func() bool {
		envoySpans = rcv.find(func(s receivedSpan) bool {
			return s.service == "mcpgw-envoy" && hex.EncodeToString(s.span.GetTraceId()) == clientTrace
		})
		return len(envoySpans) >= 2
	})
	ids := map[string]*tracepb.Span{}
	var ingress bool
	for _, s := range envoySpans {
		ids[hex.EncodeToString(s.span.GetSpanId())] = s.span
		if hex.EncodeToString(s.span.GetParentSpanId()) == clientSpan && s.span.GetKind() == tracepb.Span_SPAN_KIND_SERVER {
			ingress = true
		}
	}
	if !ingress {
		t.Errorf("no Envoy server span under the client's span: %v", envoySpans)
	}
	if p := hex.EncodeToString(call.GetParentSpanId()); ids[p] == nil {
		t.Errorf("the gateway's span's parent %s is not one of Envoy's spans %v", p, envoySpans)
	}

	// The upstream saw the trace in its header and in params._meta; the
	// _meta one is the gateway's span, and the client's _meta is kept.
	mu.Lock()
	calls := append([]seenCall(nil), seen...)
	mu.Unlock()
	if len(calls) != 2 {
		t.Fatalf("upstream saw %d calls, want 2", len(calls))
	}
	echo := calls[0]
	if !strings.HasPrefix(echo.header, "00-"+clientTrace+"-") {
		t.Errorf("upstream's traceparent header %q, want trace %s", echo.header, clientTrace)
	}
	if want := "00-" + clientTrace + "-" + hex.EncodeToString(call.GetSpanId()) + "-01"; echo.meta != want {
		t.Errorf("upstream's params._meta.traceparent %q, want %q", echo.meta, want)
	}
	if echo.progress != "p-1" {
		t.Errorf("client's _meta.progressToken became %q", echo.progress)
	}

	// A tool error: error.type tool_error, status Error, and the upstream
	// still saw the trace of the gateway's span.
	var fail *tracepb.Span
	waitFor(t, "the gateway's span of alpha-fail", func() bool {
		s := rcv.find(func(s receivedSpan) bool { return s.service == "mcpgw" && s.span.GetName() == "tools/call alpha-fail" })
		if len(s) == 1 {
			fail = s[0].span
		}
		return fail != nil
	})
	if got := attrString(fail.GetAttributes(), "error.type"); got != "tool_error" || fail.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("tool error span: error.type %q, status %v", got, fail.GetStatus())
	}
	failTrace := hex.EncodeToString(fail.GetTraceId())
	if !strings.Contains(calls[1].header, failTrace) || !strings.Contains(calls[1].meta, failTrace) {
		t.Errorf("upstream saw %+v, want trace %s", calls[1], failTrace)
	}
	// The sidecar's span of the list, a child of Envoy's request to the
	// sidecar; the ext_proc service's span of it beside.
	inList := func(s receivedSpan) bool { return hex.EncodeToString(s.span.GetTraceId()) == listTrace }
	waitFor(t, "the sidecar's span of tools/list and Envoy's request to the sidecar", func() bool {
		side := rcv.find(func(s receivedSpan) bool {
			return inList(s) && s.service == "mcpgw" && attrString(s.span.GetAttributes(), "mcpgw.component") == "sidecar"
		})
		if len(side) != 1 || side[0].span.GetName() != "tools/list" || attrString(side[0].span.GetAttributes(), "jsonrpc.request.id") != "43" {
			return false
		}
		parent := hex.EncodeToString(side[0].span.GetParentSpanId())
		return len(rcv.find(func(s receivedSpan) bool {
			return inList(s) && s.service == "mcpgw-envoy" && hex.EncodeToString(s.span.GetSpanId()) == parent &&
				strings.Contains(s.span.GetName(), "mcpgw_sidecar")
		})) == 1
	})
	if ext := rcv.find(func(s receivedSpan) bool {
		return inList(s) && s.service == "mcpgw" && attrString(s.span.GetAttributes(), "mcpgw.component") == "extproc"
	}); len(ext) != 1 || ext[0].span.GetName() != "tools/list" {
		t.Errorf("the ext_proc service's spans of tools/list: %v", ext)
	}

	if t.Failed() || testing.Verbose() {
		for _, s := range rcv.find(func(receivedSpan) bool { return true }) {
			t.Logf("%s %q trace %x span %x parent %x kind %v", s.service, s.span.GetName(), s.span.GetTraceId(), s.span.GetSpanId(), s.span.GetParentSpanId(), s.span.GetKind())
		}
	}
}
