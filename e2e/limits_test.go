package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

type sleepArgs struct {
	Seconds float64 `json:"seconds" jsonschema:"how long to take"`
}

// TestCallDeadlines: every routed call has a deadline, the server's
// timeout (LiteLLM's per-server key, default 60 s). Through real Envoy:
// a call that outlasts it gets a JSON-RPC error naming the server and
// the timeout; an upstream that never answers its session set-up gets
// the gateway's 502 naming it before Envoy's ext_proc timeout (they were
// both 10 s, and Envoy's bare 504 won); an upstream that resets the
// connection after its session is open gets 502 naming it (was 503
// "upstream_reset..."); and a request whose body never arrives whole is
// answered 408 (it was never answered).
func TestCallDeadlines(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "sleep", Description: "takes its time"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in sleepArgs) (*mcp.CallToolResult, any, error) {
			select {
			case <-time.After(time.Duration(in.Seconds * float64(time.Second))):
			case <-ctx.Done():
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "slept"}}}, nil, nil
		})
	slow := serveMCP(t, srv, false)

	// An upstream whose session opens and whose tools/call resets the
	// connection.
	resetSrv := mcp.NewServer(&mcp.Implementation{Name: "flaky", Version: "1"}, nil)
	mcp.AddTool(resetSrv, &mcp.Tool{Name: "crash", Description: "never answers"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return nil, nil, nil
		})
	resetHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return resetSrv },
		&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"tools/call"`)) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0) // a reset, not a clean close
				conn.Close()
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		resetHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)

	// An upstream that accepts connections and never answers anything.
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Close() })
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	gw := gatewayUnder(t, fmt.Sprintf(`mcp_servers:
  slow:
    url: %q
    timeout: 1.5
  flaky:
    url: %q
  hung:
    url: %q
gateway:
  request_timeout: 11
`, slow, flaky.URL+"/mcp", "http://"+hung.Addr().String()+"/mcp"))

	cs := connect(t, gw.Endpoint)
	ctx := t.Context()
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "slow-sleep", Arguments: map[string]any{"seconds": 0.1}}); err != nil || res.IsError {
		t.Fatalf("a call within the timeout: %v %v", res, err)
	}
	sid := cs.ID()
	call := func(tool string) (int, string, time.Duration) {
		start := time.Now()
		status, _, body := post(t, gw.Endpoint, []byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"`+tool+`","arguments":{"seconds":30}}}`),
			map[string]string{"Mcp-Session-Id": sid, "Mcp-Protocol-Version": "2025-06-18"})
		return status, body, time.Since(start)
	}
	for _, tt := range []struct {
		tool   string
		status int
		msg    string
	}{
		{"slow-sleep", 504, `upstream MCP server \"slow\" did not answer within its timeout of 1.5s`},
		{"hung-anything", 502, `upstream MCP server \"hung\" is unavailable`},
		{"flaky-crash", 502, `upstream MCP server \"flaky\" is unavailable (upstream_reset_before_response_started`},
	} {
		status, body, took := call(tt.tool)
		if status != tt.status || !strings.Contains(body, `"code":-32603`) || !strings.Contains(body, tt.msg) {
			t.Errorf("%s: %d %s (after %v); want %d with %s", tt.tool, status, body, took, tt.status, tt.msg)
		}
		t.Logf("%s: %d after %v", tt.tool, status, took.Round(100*time.Millisecond))
	}

	// A body shorter than its content-length.
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(gw.Endpoint, "/mcp"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\"")
	conn.SetReadDeadline(time.Now().Add(40 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("a truncated body was not answered: %v (after %v)", err, time.Since(start))
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || !strings.Contains(string(body), `"code":-32600`) || !strings.Contains(string(body), "request not received in time") {
		t.Errorf("truncated body: %d %s", resp.StatusCode, body)
	}
	t.Logf("truncated body: %d after %v", resp.StatusCode, time.Since(start).Round(100*time.Millisecond))
}
