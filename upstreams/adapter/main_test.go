package adapter

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// serverEnv makes the test binary a stdio MCP server (tools echo, pid,
// crash; prompt greet; resource test://static and template
// test://items/{id}; completions) instead of running the tests.
const serverEnv = "MCPGW_ADAPTER_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "" {
		os.Exit(m.Run())
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "adapter-test", Version: "1"}, &mcp.ServerOptions{
		CompletionHandler: func(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
			return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{
				Values: []string{req.Params.Ref.Name + req.Params.Ref.URI + ":" + req.Params.Argument.Value}}}, nil
		},
	})
	type in struct {
		Text string `json:"text,omitempty"`
	}
	tool := func(name string, f func(in) string) {
		mcp.AddTool(srv, &mcp.Tool{Name: name, Description: name},
			func(_ context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, any, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: f(a)}}}, nil, nil
			})
	}
	tool("echo", func(a in) string { return a.Text })
	tool("pid", func(in) string { return fmt.Sprint(os.Getpid()) })
	tool("crash", func(in) string { os.Exit(5); return "" })
	srv.AddPrompt(&mcp.Prompt{Name: "greet", Arguments: []*mcp.PromptArgument{{Name: "who", Required: true}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.TextContent{Text: "hello " + req.Params.Arguments["who"]}},
			}}, nil
		})
	read := func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
			{URI: req.Params.URI, MIMEType: "text/plain", Text: "contents of " + req.Params.URI},
		}}, nil
	}
	srv.AddResource(&mcp.Resource{URI: "test://static", Name: "static", MIMEType: "text/plain"}, read)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "test://items/{id}", Name: "item"}, read)
	srv.Run(context.Background(), &mcp.StdioTransport{})
	os.Exit(0)
}
