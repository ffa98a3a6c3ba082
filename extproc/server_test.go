package extproc

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

type fakeSessions struct {
	mu        sync.Mutex
	opened    int
	evicted   []string
	ended     []string
	released  int
	discarded int
	fail      bool
	alive     bool // what Alive answers
}

func (f *fakeSessions) Session(_ context.Context, k sessions.Key, _ *upstreams.Upstream, v string) (sessions.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return sessions.Session{}, context.DeadlineExceeded
	}
	f.opened++
	if k.Modern {
		return sessions.Session{ProtocolVersion: "2025-06-18", ID: "legacy"}, nil
	}
	return sessions.Session{ID: "up-" + k.ClientSession, ProtocolVersion: v}, nil
}
func (f *fakeSessions) Evict(s sessions.Session) {
	f.mu.Lock()
	f.evicted = append(f.evicted, s.ID)
	f.mu.Unlock()
}
func (f *fakeSessions) Release(sessions.Session) { f.mu.Lock(); f.released++; f.mu.Unlock() }
func (f *fakeSessions) Discard(sessions.Session) { f.mu.Lock(); f.discarded++; f.mu.Unlock() }
func (f *fakeSessions) Alive(context.Context, sessions.Session) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alive
}
func (f *fakeSessions) EndClient(s string) { f.mu.Lock(); f.ended = append(f.ended, s); f.mu.Unlock() }

// dial runs the service over an in-memory gRPC connection.
func dial(t *testing.T, fs *fakeSessions) extprocv3.ExternalProcessorClient {
	return dialUpstream(t, fs, "http://127.0.0.1:9/mcp", nil)
}

// dialUpstream is dial with upstream demo at upstreamURL and, when set, a
// replayer.
func dialUpstream(t *testing.T, fs *fakeSessions, upstreamURL string, rp *Replayer) extprocv3.ExternalProcessorClient {
	t.Helper()
	u, _ := url.Parse(upstreamURL)
	names, _ := namespace.NewRegistry([]string{"demo"}, "-")
	r, err := router.New(names, []*upstreams.Upstream{{Alias: "demo", Transport: upstreams.TransportHTTP, URL: u, Cluster: "mcp_upstream_demo"}}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var opts []Option
	if rp != nil {
		opts = append(opts, WithReplayer(rp))
	}
	return extprocv3.NewExternalProcessorClient(serveInMemory(t, New(r, fs, nil, opts...)))
}

// exchange returns a function that sends one message on stream and
// returns the answer.
func exchange(t *testing.T, stream extprocv3.ExternalProcessor_ProcessClient) func(*extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	return func(r *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
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
}

func hdrs(kv ...string) *corev3.HeaderMap {
	m := &corev3.HeaderMap{}
	for i := 0; i < len(kv); i += 2 {
		m.Headers = append(m.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return m
}

func set(m *extprocv3.HeaderMutation) map[string]string {
	out := map[string]string{}
	for _, h := range m.GetSetHeaders() {
		if h.Header.Value != "" {
			panic("value set; Envoy reads raw_value only")
		}
		out[h.Header.Key] = string(h.Header.RawValue)
	}
	return out
}

func TestToolCallIsRewrittenAndRouted(t *testing.T) {
	fs := &fakeSessions{}
	stream, err := dial(t, fs).Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	send := exchange(t, stream)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo","arguments":{"text":"hi"}}}`)

	resp := send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: hdrs(":method", "POST", ":path", "/mcp", "mcp-session-id", "gw-7", "x-mcp-cluster", "mcp_upstream_demo", "content-length", strconv.Itoa(len(body))),
	}}})
	rh := resp.GetRequestHeaders().GetResponse()
	if got := set(rh.GetHeaderMutation())["x-mcp-cluster"]; got != "mcpgw_sidecar" || !rh.GetClearRouteCache() {
		t.Fatalf("headers phase: %v", resp)
	}

	resp = send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}})
	c := resp.GetRequestBody().GetResponse()
	newBody := c.GetBodyMutation().GetBody()
	var parsed struct{ Params struct{ Name string } }
	json.Unmarshal(newBody, &parsed)
	h := set(c.GetHeaderMutation())
	if parsed.Params.Name != "echo" || h["content-length"] != strconv.Itoa(len(newBody)) || h["x-mcp-cluster"] != "mcp_upstream_demo" ||
		h[":path"] != "/mcp" || h["mcp-session-id"] != "up-gw-7" || !c.GetClearRouteCache() {
		t.Fatalf("body phase: headers %v body %s", h, newBody)
	}
	for _, r := range c.GetHeaderMutation().GetRemoveHeaders() {
		if r == "mcp-session-id" {
			t.Fatal("session header both removed and set")
		}
	}

	resp = send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
		Headers: hdrs(":status", "404", "mcp-session-id", "up-gw-7"),
	}}})
	if got := set(resp.GetResponseHeaders().GetResponse().GetHeaderMutation())["mcp-session-id"]; got != "gw-7" {
		t.Fatalf("client got session %q, want its own gw-7", got)
	}
	stream.CloseSend()
	if len(fs.evicted) != 1 || fs.evicted[0] != "up-gw-7" {
		t.Fatalf("404 did not evict the upstream session: %v", fs.evicted)
	}
}

func TestErrorsAreImmediateJSONRPC(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		body   string
		fail   bool
		status int
		code   int
	}{
		{"malformed", "/mcp", `{"jsonrpc"`, false, 400, -32700},
		{"not jsonrpc", "/mcp", `{"a":1}`, false, 400, -32600},
		{"unknown tool", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x-y"}}`, false, 200, -32602},
		{"upstream down", "/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-y"}}`, true, 502, -32603},
		{"wrong path", "/nope", "", false, 404, -32600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := dial(t, &fakeSessions{fail: tt.fail}).Process(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
				Headers: hdrs(":method", "POST", ":path", tt.path)}}})
			resp, _ := stream.Recv()
			if tt.body != "" {
				stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: []byte(tt.body), EndOfStream: true}}})
				resp, _ = stream.Recv()
			}
			ir := resp.GetImmediateResponse()
			if ir == nil {
				t.Fatalf("want immediate response, got %v", resp)
			}
			var e struct{ Error struct{ Code int } }
			json.Unmarshal(ir.Body, &e)
			if int(ir.Status.Code) != tt.status || e.Error.Code != tt.code || set(ir.Headers)["content-type"] != "application/json" {
				t.Fatalf("got %d %s", ir.Status.Code, ir.Body)
			}
		})
	}
}

func TestDeleteEndsUpstreamSessions(t *testing.T) {
	fs := &fakeSessions{}
	stream, _ := dial(t, fs).Process(context.Background())
	stream.Send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: hdrs(":method", "DELETE", ":path", "/mcp", "mcp-session-id", "gw-9"), EndOfStream: true}}})
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if len(fs.ended) != 1 || fs.ended[0] != "gw-9" {
		t.Fatalf("ended %v", fs.ended)
	}
}

// A call replayed after the upstream lost its session answers the client
// like the direct path would: a resources/read on the aggregate names the
// URI as the client read it.
func TestReplayedAnswerIsRewritten(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"file:///x","text":"x"}]}}`)
	}))
	defer up.Close()
	fs := &fakeSessions{}
	stream, err := dialUpstream(t, fs, up.URL+"/mcp", &Replayer{}).Process(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	send := exchange(t, stream)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mcpgw://demo/file:///x"}}`)
	send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
		Headers: hdrs(":method", "POST", ":path", "/mcp", "mcp-session-id", "gw-1", "content-length", strconv.Itoa(len(body))),
	}}})
	send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: body, EndOfStream: true}}})
	resp := send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
		Headers: hdrs(":status", "404"),
	}}})
	imm := resp.GetImmediateResponse()
	if imm == nil || !strings.Contains(string(imm.GetBody()), `"uri":"mcpgw://demo/file:///x"`) {
		t.Fatalf("replayed answer: %v", resp)
	}
}

// TestUnknownMessageFailsClosed: an ext_proc message of a type the gateway
// does not know ends the request with a 500 JSON-RPC error, never passes.
func TestUnknownMessageFailsClosed(t *testing.T) {
	s := New(nil, &fakeSessions{}, nil)
	ir := s.handle(t.Context(), &requestState{}, &extprocv3.ProcessingRequest{}).GetImmediateResponse()
	const want = `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"gateway error"}}`
	if ir.GetStatus().GetCode() != 500 || string(ir.GetBody()) != want || set(ir.GetHeaders())["content-type"] != "application/json" {
		t.Fatalf("got %v", ir)
	}
}

// serveInMemory serves svc over an in-memory gRPC listener for the test
// and returns a connection to it.
func serveInMemory(t *testing.T, svc *Server) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	svc.Register(g)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
