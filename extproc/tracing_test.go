package extproc

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/internal/telemetry"
	"github.com/mcpgw/mcpgw/upstreams"
)

// tracedServer is a service routing demo-* calls, tracing into a span
// recorder when rec is set.
func tracedServer(t *testing.T, rec *tracetest.SpanRecorder) *Server {
	t.Helper()
	u, _ := url.Parse("http://127.0.0.1:9/mcp")
	names, _ := namespace.NewRegistry([]string{"demo"}, "-")
	r, err := router.New(names, []*upstreams.Upstream{{Alias: "demo", Transport: upstreams.TransportHTTP, URL: u, Cluster: "mcp_upstream_demo"}}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var opts []Option
	if rec != nil {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		opts = append(opts, WithTracing(tp, propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})))
	}
	return New(r, &fakeSessions{}, nil, opts...)
}

// run plays reqs on one stream whose gRPC metadata is md.
func run(t *testing.T, s *Server, md metadata.MD, reqs ...*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	t.Helper()
	ctx := t.Context()
	if md != nil {
		ctx = metadata.NewIncomingContext(ctx, md)
	}
	st := &fixtureStream{ctx: ctx, in: reqs}
	if err := s.Process(st); err != nil {
		t.Fatal(err)
	}
	return st.out
}

func reqHeaders(kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: hdrs(kv...)}}}
}

func reqBody(b string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(b), EndOfStream: true}}}
}

func respHeaders(kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: hdrs(kv...)}}}
}

const envoyParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func TestRoutedCallSpanAndPropagation(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	s := tracedServer(t, rec)
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"demo-echo","arguments":{"text":"<hi>"},"_meta":{"progressToken":5,"traceparent":"00-11111111111111111111111111111111-2222222222222222-01"}}}`
	out := run(t, s, metadata.Pairs("traceparent", envoyParent),
		reqHeaders(":method", "POST", ":path", "/mcp", ":authority", "gw.example:4000", "mcp-session-id", "gw-7",
			"mcp-protocol-version", "2025-06-18", "x-request-id", "req-1", "traceparent", "00-33333333333333333333333333333333-4444444444444444-01"),
		reqBody(body),
		respHeaders(":status", "200", "content-type", "application/json"))

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	sp := spans[0]
	if sp.Name() != "tools/call demo-echo" || sp.SpanKind() != trace.SpanKindServer {
		t.Fatalf("span %q kind %v", sp.Name(), sp.SpanKind())
	}
	// Envoy's context (the stream's metadata) is the parent; the client's
	// _meta context a link.
	if got := sp.Parent().TraceID().String() + "-" + sp.Parent().SpanID().String(); got != "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331" {
		t.Fatalf("parent %s", got)
	}
	if l := sp.Links(); len(l) != 1 || l[0].SpanContext.TraceID().String() != strings.Repeat("1", 32) {
		t.Fatalf("links %v", l)
	}
	got := attrs(sp.Attributes())
	want := map[string]string{
		"mcp.method.name": "tools/call", "gen_ai.tool.name": "demo-echo", "gen_ai.operation.name": "execute_tool",
		"jsonrpc.request.id": "7", "mcp.protocol.version": "2025-06-18", "mcp.session.id": telemetry.SessionDigest("gw-7"), "mcpgw.component": "extproc",
		"server.address": "gw.example", "server.port": "4000", "network.transport": "tcp", "network.protocol.name": "http",
		"mcpgw.request_id": "req-1", "mcpgw.server": "demo", "mcpgw.tool": "echo", "mcpgw.outcome": "ok",
		"http.response.status_code": "200",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["error.type"]; ok || sp.Status().Code == codes.Error {
		t.Errorf("ok call has error.type %q, status %v", got["error.type"], sp.Status())
	}
	if strings.Contains(got["mcp.session.id"], "gw-7") {
		t.Error("raw session id in span")
	}

	// The upstream gets the span's context in the header and in _meta.
	c := out[1].GetRequestBody().GetResponse()
	h := set(c.GetHeaderMutation())
	self := "00-" + sp.SpanContext().TraceID().String() + "-" + sp.SpanContext().SpanID().String() + "-01"
	if h["traceparent"] != self {
		t.Errorf("traceparent header %q, want %q", h["traceparent"], self)
	}
	newBody := c.GetBodyMutation().GetBody()
	var msg struct {
		Params struct {
			Name      string
			Arguments map[string]string
			Meta      map[string]json.RawMessage `json:"_meta"`
		}
	}
	if err := json.Unmarshal(newBody, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Params.Name != "echo" || msg.Params.Arguments["text"] != "<hi>" || string(msg.Params.Meta["progressToken"]) != "5" ||
		string(msg.Params.Meta["traceparent"]) != strconv.Quote(self) {
		t.Errorf("body %s", newBody)
	}
	if h["content-length"] != strconv.Itoa(len(newBody)) {
		t.Errorf("content-length %s for %d bytes", h["content-length"], len(newBody))
	}
}

func TestSpanParentFromHeaders(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	run(t, tracedServer(t, rec), nil,
		reqHeaders(":method", "POST", ":path", "/mcp", "traceparent", envoyParent),
		reqBody(`{"jsonrpc":"2.0","id":"a","method":"tools/list"}`),
		respHeaders(":status", "200"))
	sp := rec.Ended()[0]
	if sp.Name() != "tools/list" || sp.Parent().SpanID().String() != "b7ad6b7169203331" || attrs(sp.Attributes())["jsonrpc.request.id"] != "a" {
		t.Fatalf("span %q parent %v attrs %v", sp.Name(), sp.Parent(), sp.Attributes())
	}
}

func TestGatewayAnswerSpans(t *testing.T) {
	tests := []struct {
		name, path, body string
		spanName         string
		errType          string
		status           codes.Code
	}{
		{"unknown tool", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x-y"}}`, "tools/call x-y", "-32602", codes.Unset},
		{"parse error", "/mcp", `{"jsonrpc"`, "mcp", "-32700", codes.Unset},
		{"wrong path", "/nope", "", "mcp", "-32600", codes.Unset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			reqs := []*extprocv3.ProcessingRequest{reqHeaders(":method", "POST", ":path", tt.path)}
			if tt.body != "" {
				reqs = append(reqs, reqBody(tt.body))
			}
			run(t, tracedServer(t, rec), nil, reqs...)
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			a := attrs(spans[0].Attributes())
			if spans[0].Name() != tt.spanName || a["error.type"] != tt.errType || a["rpc.response.status_code"] != tt.errType || spans[0].Status().Code != tt.status {
				t.Fatalf("span %q attrs %v status %v", spans[0].Name(), a, spans[0].Status())
			}
		})
	}
}

func TestTracingOffChangesNothing(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`
	out := run(t, tracedServer(t, nil), metadata.Pairs("traceparent", envoyParent),
		reqHeaders(":method", "POST", ":path", "/mcp", "traceparent", envoyParent), reqBody(body))
	c := out[1].GetRequestBody().GetResponse()
	if _, ok := set(c.GetHeaderMutation())["traceparent"]; ok || strings.Contains(string(c.GetBodyMutation().GetBody()), "_meta") {
		t.Fatalf("tracing off changed the call: %v", c)
	}
}

func TestSpanError(t *testing.T) {
	tests := []struct {
		outcome string
		code    int
		hasCode bool
		errType string
		isErr   bool
	}{
		{metrics.OutcomeOK, 0, false, "", false},
		{metrics.OutcomeToolError, 0, false, "tool_error", true},
		{metrics.OutcomeInvalidParams, -32602, true, "-32602", false},
		{metrics.OutcomeParseError, -32700, true, "-32700", false},
		{metrics.OutcomeServerError, -32002, true, "-32002", false},
		{metrics.OutcomeDenied, -32043, true, "-32043", false},
		{metrics.OutcomeUpstreamFailure, -32603, true, "-32603", true},
		{metrics.OutcomeInternalError, -32603, true, "-32603", true},
		{metrics.OutcomeUpstreamFailure, 0, false, "upstream_failure", true},
		{metrics.OutcomeInternalError, 0, false, "internal_error", true},
		{metrics.OutcomeDenied, 0, false, "denied", false},
		{metrics.OutcomeClientError, 0, false, "client_error", false},
		{metrics.OutcomeCancelled, 0, false, "cancelled", false},
	}
	for _, tt := range tests {
		errType, isErr := spanError(tt.outcome, tt.code, tt.hasCode)
		if errType != tt.errType || isErr != tt.isErr {
			t.Errorf("spanError(%s, %d, %v) = %q, %v; want %q, %v", tt.outcome, tt.code, tt.hasCode, errType, isErr, tt.errType, tt.isErr)
		}
	}
}

// sessionCounter records what a Recorder that counts sessions is told.
type sessionCounter struct{ events []string }

func (c *sessionCounter) Request(string, string, string, string, time.Duration) {}
func (c *sessionCounter) ClientSession(event string)                            { c.events = append(c.events, event) }

func TestClientSessionEvents(t *testing.T) {
	tests := []struct {
		name string
		reqs []*extprocv3.ProcessingRequest
		want []string
	}{
		{"initialize answered with a session", []*extprocv3.ProcessingRequest{
			reqHeaders(":method", "POST", ":path", "/mcp"),
			reqBody(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`),
			respHeaders(":status", "200", "mcp-session-id", "gw-1")}, []string{metrics.SessionStarted}},
		{"initialize answered without one (2026-07-28, stateless)", []*extprocv3.ProcessingRequest{
			reqHeaders(":method", "POST", ":path", "/mcp"),
			reqBody(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`),
			respHeaders(":status", "200")}, nil},
		{"initialize refused", []*extprocv3.ProcessingRequest{
			reqHeaders(":method", "POST", ":path", "/mcp"),
			reqBody(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`),
			respHeaders(":status", "400", "mcp-session-id", "gw-1")}, nil},
		{"a list on a session", []*extprocv3.ProcessingRequest{
			reqHeaders(":method", "POST", ":path", "/mcp", "mcp-session-id", "gw-1"),
			reqBody(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`),
			respHeaders(":status", "200", "mcp-session-id", "gw-1")}, nil},
		{"DELETE", []*extprocv3.ProcessingRequest{
			reqHeaders(":method", "DELETE", ":path", "/mcp", "mcp-session-id", "gw-1")}, []string{metrics.SessionEnded}},
		{"DELETE without a session", []*extprocv3.ProcessingRequest{
			reqHeaders(":method", "DELETE", ":path", "/mcp")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &sessionCounter{}
			s := tracedServer(t, nil)
			WithMetrics(c)(s)
			run(t, s, nil, tt.reqs...)
			if !slices.Equal(c.events, tt.want) {
				t.Fatalf("events %v, want %v", c.events, tt.want)
			}
		})
	}
}

// TestReplaySpan: a call whose upstream lost its session is replayed; its
// span says so, and the replayed request carries the span's context too.
func TestReplaySpan(t *testing.T) {
	var replayed struct{ header, body string }
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		replayed.header, replayed.body = r.Header.Get("traceparent"), string(b)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`)
	}))
	defer up.Close()
	rec := tracetest.NewSpanRecorder()
	u, _ := url.Parse(up.URL + "/mcp")
	names, _ := namespace.NewRegistry([]string{"demo"}, "-")
	r, err := router.New(names, []*upstreams.Upstream{{Alias: "demo", Transport: upstreams.TransportHTTP, URL: u, Cluster: "mcp_upstream_demo"}}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, &fakeSessions{}, nil, WithReplayer(&Replayer{}),
		WithTracing(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), propagation.TraceContext{}))
	run(t, s, nil,
		reqHeaders(":method", "POST", ":path", "/mcp", "mcp-session-id", "gw-1"),
		reqBody(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`),
		respHeaders(":status", "404"))
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	var events []string
	for _, e := range spans[0].Events() {
		events = append(events, e.Name)
	}
	if !slices.Equal(events, []string{"mcpgw.upstream_session_lost", "mcpgw.replayed"}) {
		t.Errorf("events %v", events)
	}
	traceID := spans[0].SpanContext().TraceID().String()
	if !strings.Contains(replayed.header, traceID) || !strings.Contains(replayed.body, `"traceparent":"00-`+traceID) {
		t.Errorf("replayed call: traceparent %q, body %s; want trace %s", replayed.header, replayed.body, traceID)
	}
}

// TestPassThroughKeepsBody: a client's answer to an upstream's request
// and a cancellation, passed through on a server's own endpoint, get the
// trace in their header only: a response has no params to add, a
// notification carries none.
func TestPassThroughKeepsBody(t *testing.T) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":5,"result":{"action":"accept"}}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
	} {
		rec := tracetest.NewSpanRecorder()
		out := run(t, tracedServer(t, rec), nil,
			reqHeaders(":method", "POST", ":path", "/demo/mcp", "mcp-session-id", "gw-1"), reqBody(body))
		c := out[1].GetRequestBody().GetResponse()
		h := set(c.GetHeaderMutation())
		if h["x-mcp-cluster"] != "mcp_upstream_demo" {
			t.Fatalf("%s not routed: %v", body, c)
		}
		if m := c.GetBodyMutation(); h["traceparent"] == "" || (m != nil && string(m.GetBody()) != body) {
			t.Errorf("%s: traceparent %q, body mutation %v", body, h["traceparent"], m)
		}
	}
}
