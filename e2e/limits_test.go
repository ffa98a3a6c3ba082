package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type sizeArgs struct {
	Bytes int `json:"bytes" jsonschema:"how many bytes of text to answer"`
}

// bigAnswersUpstream serves, at MCP 2025-06-18 only (so a 2026-07-28
// client's calls are translated), a tool and a resource template that
// answer with as many bytes of text as asked for. JSON answers, so the
// gateway collects them whole to rewrite them.
func bigAnswersUpstream(t *testing.T) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "big", Version: "1"}, &mcp.ServerOptions{SupportedProtocolVersions: []string{"2025-06-18"}})
	mcp.AddTool(srv, &mcp.Tool{Name: "blob", Description: "answers n bytes"},
		func(_ context.Context, _ *mcp.CallToolRequest, in sizeArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Repeat("x", in.Bytes)}}}, nil, nil
		})
	srv.AddResourceTemplate(&mcp.ResourceTemplate{Name: "blob", URITemplate: "big://{n}"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			n, err := strconv.Atoi(strings.TrimPrefix(req.Params.URI, "big://"))
			if err != nil {
				return nil, err
			}
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: strings.Repeat("y", n)}}}, nil
		})
	return serveMCPWith(t, srv, &mcp.StreamableHTTPOptions{JSONResponse: true, DisableLocalhostProtection: true})
}

// TestLargeAnswers: answers the gateway must hold whole to rewrite them —
// a 2026-07-28 client's call to an older upstream, resources/read on
// /mcp — arrive intact well past Envoy's 1 MiB buffer (they failed with
// 500 "received message larger than max" or hung for 20-30 s above
// ~1.1 MB), and one over gateway.max_response_body_bytes gets a JSON-RPC
// error naming the server and the limit, at once.
func TestLargeAnswers(t *testing.T) {
	const limit = 8 << 20
	gw := gatewayUnder(t, fmt.Sprintf("mcp_servers:\n  old:\n    url: %q\ngateway:\n  max_response_body_bytes: %d\n", bigAnswersUpstream(t), limit))
	for _, version := range []string{"2026-07-28", "2025-06-18"} {
		t.Run(version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gw.Endpoint, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			for _, n := range []int{2_000_000, 5_000_000, limit - 4096} {
				if version == "2026-07-28" {
					res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "old-blob", Arguments: map[string]any{"bytes": n}})
					if err != nil || res.IsError || len(res.Content[0].(*mcp.TextContent).Text) != n {
						t.Fatalf("tools/call of %d bytes: %v", n, err)
					}
				}
				uri := fmt.Sprintf("mcpgw://old/big://%d", n)
				rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uri})
				if err != nil || len(rr.Contents[0].Text) != n || rr.Contents[0].URI != uri {
					t.Fatalf("resources/read of %d bytes: %v", n, err)
				}
			}
			over := fmt.Sprintf(`upstream MCP server "old" answered more than %d bytes, the gateway's limit for answers it rewrites (gateway.max_response_body_bytes)`, limit)
			if version == "2026-07-28" {
				cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
				_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "old-blob", Arguments: map[string]any{"bytes": limit + 1}})
				ccancel()
				if err == nil || !strings.Contains(err.Error(), over) {
					t.Fatalf("tools/call over the limit: %v", err)
				}
			}
			cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
			_, err = cs.ReadResource(cctx, &mcp.ReadResourceParams{URI: fmt.Sprintf("mcpgw://old/big://%d", limit+1)})
			ccancel()
			if err == nil || !strings.Contains(err.Error(), over) {
				t.Fatalf("resources/read over the limit: %v", err)
			}
		})
	}
}
