package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func TestSpanNameAndAttributes(t *testing.T) {
	tests := []struct {
		method, body string
		name         string
		want         map[string]string // "" means absent
	}{
		{"tools/call", `{"id":"x","params":{"name":"a-b"}}`, "tools/call a-b",
			map[string]string{"gen_ai.tool.name": "a-b", "gen_ai.operation.name": "execute_tool", "jsonrpc.request.id": "x"}},
		{"prompts/get", `{"id":2,"params":{"name":"greet"}}`, "prompts/get greet",
			map[string]string{"gen_ai.prompt.name": "greet", "gen_ai.tool.name": "", "jsonrpc.request.id": "2"}},
		{"resources/read", `{"id":3,"params":{"uri":"mcpgw://a/file:///x"}}`, "resources/read",
			map[string]string{"mcp.resource.uri": "mcpgw://a/file:///x", "gen_ai.operation.name": ""}},
		{"initialize", `{"id":null,"params":{}}`, "initialize", map[string]string{"jsonrpc.request.id": ""}},
		{"notifications/initialized", `{"params":{}}`, "notifications/initialized", map[string]string{"jsonrpc.request.id": ""}},
		{"x/made-up", `{"id":1}`, "other", map[string]string{"mcp.method.name": "x/made-up"}},
		{"tools/call", `{"id":1,"params":{}}`, "tools/call", map[string]string{"gen_ai.tool.name": ""}},
		{"", `{`, "mcp", map[string]string{"mcp.method.name": ""}},
		// A name no server can have stays out of the span's name, and a
		// long one is cut.
		{"tools/call", `{"id":1,"params":{"name":"` + strings.Repeat("n", 129) + `"}}`, "tools/call",
			map[string]string{"gen_ai.tool.name": strings.Repeat("n", 129)}},
		{"tools/call", `{"id":1,"params":{"name":"` + strings.Repeat("é", 600) + `"}}`, "tools/call",
			map[string]string{"gen_ai.tool.name": strings.Repeat("é", 512)}},
	}
	for _, tt := range tests {
		p := ParseRequest([]byte(tt.body))
		p.Method = tt.method
		if got := p.SpanName(); got != tt.name {
			t.Errorf("%s %s: name %q, want %q", tt.method, tt.body, got, tt.name)
		}
		a := attrs(p.Attributes(func(string) string { return "" }))
		for k, v := range tt.want {
			if got, ok := a[k]; got != v || (v == "" && ok) {
				t.Errorf("%s %s: %s = %q (set %v), want %q", tt.method, tt.body, k, got, ok, v)
			}
		}
	}
}

func TestHeaderAttributes(t *testing.T) {
	h := map[string]string{"mcp-protocol-version": "2025-06-18", "mcp-session-id": "gw-7", "host": "gw.example:4000", "x-request-id": "r-1"}
	a := attrs(Request{Method: "ping"}.Attributes(func(k string) string { return h[k] }))
	for k, v := range map[string]string{"mcp.protocol.version": "2025-06-18", "mcp.session.id": SessionDigest("gw-7"),
		"server.address": "gw.example", "server.port": "4000", "mcpgw.request_id": "r-1", "network.transport": "tcp"} {
		if a[k] != v {
			t.Errorf("%s = %q, want %q", k, a[k], v)
		}
	}
	if strings.Contains(a["mcp.session.id"], "gw-7") || len(a["mcp.session.id"]) != 16 {
		t.Errorf("session id %q", a["mcp.session.id"])
	}
}

func TestMCPHandler(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := &Tracing{Provider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), Propagator: propagator()}
	tr.sdk = tr.Provider.(*sdktrace.TracerProvider)
	var gotBody string
	var inSpan bool
	h := tr.MCPHandler("sidecar", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		inSpan = trace.SpanContextFromContext(r.Context()).IsValid()
		if strings.Contains(gotBody, "nope") {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	body := `{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"cursor":"` + strings.Repeat("c", 70<<10) + `"}}`
	req := httptest.NewRequest(http.MethodPost, "http://gw:4000/mcp", strings.NewReader(body))
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if gotBody != body || !inSpan {
		t.Fatalf("the handler got %d bytes of %d, span in context %v", len(gotBody), len(body), inSpan)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "http://gw:4000/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope"}}`)))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "http://gw:4000/mcp", nil))
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2 (none for a GET)", len(spans))
	}
	// A body longer than the span reads: the method is in its first part.
	a := attrs(spans[0].Attributes())
	if spans[0].Name() != "tools/list" || spans[0].Parent().SpanID().String() != "b7ad6b7169203331" || spans[0].SpanKind() != trace.SpanKindServer ||
		a["mcpgw.component"] != "sidecar" || a["server.address"] != "gw" || a["server.port"] != "4000" || a["http.response.status_code"] != "200" {
		t.Errorf("span %q parent %v attrs %v", spans[0].Name(), spans[0].Parent(), a)
	}
	if a := attrs(spans[1].Attributes()); spans[1].Name() != "tools/call nope" || a["error.type"] != "404" || a["jsonrpc.request.id"] != "4" {
		t.Errorf("span %q attrs %v", spans[1].Name(), a)
	}
	if h := Off().MCPHandler("sidecar", http.NotFoundHandler()); h == nil {
		t.Fatal("nil handler")
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","_meta":{"traceparent":"x"}}}`))
	f.Add([]byte(`{"id":"q","method":"tools/list","params":{"cursor":"abc`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := ParseRequest(body)
		_ = r.SpanName()
		_ = r.Attributes(func(string) string { return "" })
		_ = r.MetaCarrier()
	})
}
