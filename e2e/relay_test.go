package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// askingUpstream is a go-sdk server whose tools ask the client back: ask
// elicits a name, sample requests a completion from the client's model,
// and both answer with what the client said.
func askingUpstream(t *testing.T) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "asking", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "ask", Description: "asks the client for a name"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{
				Message: "your name?",
				RequestedSchema: map[string]any{"type": "object",
					"properties": map[string]any{"name": map[string]any{"type": "string"}}},
			})
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%s:%v", res.Action, res.Content["name"])}}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "sample", Description: "asks the client's model"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10,
				Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "hi"}}}})
			if err != nil {
				return nil, nil, err
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "model said " + res.Content.(*mcp.TextContent).Text}}}, nil, nil
		})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return "http://" + l.Addr().String() + "/mcp"
}

// TestUpstreamRequestsOnEveryScope: an upstream elicits from and samples
// the client in the middle of a tool call, and the client's answers find
// their way back through Envoy — on the aggregate and on a server list,
// where the answer names no server (the gateway relays the request's id),
// and on the server's own endpoint (passed through).
func TestUpstreamRequestsOnEveryScope(t *testing.T) {
	asking := askingUpstream(t)
	other := startUpstream(t, "other", false, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"asking": asking, "other": other.URL}))
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "ada"}}, nil
		},
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "hello"}}, nil
		},
	})
	for _, tc := range []struct{ path, prefix string }{
		{"/mcp", "asking-"},
		{"/mcp/asking,other", "asking-"},
		{"/asking/mcp", ""},
	} {
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + tc.path, MaxRetries: -1},
			&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		for tool, want := range map[string]string{"ask": "accept:ada", "sample": "model said hello"} {
			got, res, err := callText(ctx, cs, tc.prefix+tool, map[string]any{})
			if err != nil || res.IsError || got != want {
				t.Errorf("%s: %s%s = %q (error %v, isError %v), want %q", tc.path, tc.prefix, tool, got, err, res != nil && res.IsError, want)
			}
		}
		cs.Close()
	}
}
