package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//lint:file-ignore SA1019 sampling: still in the protocol versions before 2026-07-28 the gateway relays

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
	return serveMCP(t, srv, false)
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

// TestPythonClientAnswersUpstreamRequests: the official Python SDK as the
// client. At 2025-11-25 (mode legacy) it answers the upstream's
// elicitation and sampling through the aggregated endpoint. At 2026-07-28
// (mode auto; the upstream speaks 2025-11-25, so the gateway translates)
// it cannot be asked: the calls must still end, with errors that say why,
// instead of waiting for answers that never come.
func TestPythonClientAnswersUpstreamRequests(t *testing.T) {
	python := requireEnv(t, "MCPGW_PYTHON")
	asking := askingUpstream(t)
	gw := gatewayUnder(t, configFor(map[string]string{"asking": asking}))
	run := func(mode string) map[string]struct {
		Text    []string `json:"text"`
		IsError bool     `json:"is_error"`
	} {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, python, "clients/python_ask.py", gw.Endpoint, mode, "asking-ask", "asking-sample").Output()
		if err != nil {
			t.Fatalf("mode %s: %v\n%s", mode, err, out)
		}
		var res map[string]struct {
			Text    []string `json:"text"`
			IsError bool     `json:"is_error"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("mode %s: %v\n%s", mode, err, out)
		}
		t.Logf("mode %s: %+v", mode, res)
		return res
	}
	legacy := run("legacy")
	if a, s := legacy["asking-ask"], legacy["asking-sample"]; a.IsError || strings.Join(a.Text, "") != "accept:py" ||
		s.IsError || strings.Join(s.Text, "") != "model said from python" {
		t.Errorf("2025-11-25 client: %+v", legacy)
	}
	modern := run("auto")
	if a := modern["asking-ask"]; !a.IsError {
		t.Errorf("2026-07-28 client, elicitation: %+v", a)
	}
	if s := modern["asking-sample"]; !s.IsError || !strings.Contains(strings.Join(s.Text, ""), "2026-07-28") {
		t.Errorf("2026-07-28 client, sampling: %+v (want the gateway's decline)", s)
	}
}
