package e2e

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// startVersionedUpstream serves a go-sdk server that speaks only the given
// protocol versions (nil: all go-sdk knows). go-sdk offers 2026-07-28 only
// when stateless.
func startVersionedUpstream(t *testing.T, name string, stateless bool, versions []string) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ServerOptions{SupportedProtocolVersions: versions})
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "echoes"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":echo:" + in.Text}}}, nil, nil
		})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: stateless, DisableLocalhostProtection: true})}
	go hs.Serve(lis)
	t.Cleanup(func() { hs.Close() })
	return "http://" + lis.Addr().String() + "/mcp"
}

// TestProtocolVersionsMixFreely: every client version against upstreams
// of every kind, through Envoy: list and call work in each pairing.
func TestProtocolVersionsMixFreely(t *testing.T) {
	gw := gatewayUnder(t, configFor(map[string]string{
		"old":      startVersionedUpstream(t, "old", false, []string{"2025-06-18", "2025-03-26"}),
		"stateful": startVersionedUpstream(t, "stateful", false, nil),
		"modern":   startVersionedUpstream(t, "modern", true, nil),
	}))
	for _, version := range []string{"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"} {
		t.Run(version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
			cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: gw.Endpoint, MaxRetries: -1},
				&mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; got != version {
				t.Fatalf("negotiated %s", got)
			}
			waitFor(t, "three upstreams' tools", func() bool {
				res, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				return len(res.Tools) == 3
			})
			for _, alias := range []string{"old", "stateful", "modern"} {
				callEcho(ctx, t, cs, alias+"-echo", version)
			}
		})
	}
}
