package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// requireEnv returns an environment variable the test needs, skipping the
// test when it is unset, or failing under MCPGW_REQUIRE_ENVOY=1 (make test).
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("MCPGW_REQUIRE_ENVOY") == "1" {
			t.Fatalf("%s is not set (make test sets it)", name)
		}
		t.Skipf("%s is not set; run through make test", name)
	}
	return v
}

// upstream is a real go-sdk MCP server on loopback that counts the
// initialize requests and tool calls it receives.
type upstream struct {
	URL         string
	Inits       atomic.Int64
	Calls       atomic.Int64
	mu          sync.Mutex
	lastHeaders http.Header
	restart     func()
}

func (u *upstream) LastHeaders() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.lastHeaders.Clone()
}

type echoArgs struct {
	Text string `json:"text" jsonschema:"text to echo"`
}

// startUpstream serves a go-sdk server with tools named by the given
// prefix-free names; each tool echoes "<server>:<tool>:<text>".
func startUpstream(t *testing.T, name string, stateless bool, tools ...string) *upstream {
	t.Helper()
	u := &upstream{}
	build := func() http.Handler {
		srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1.0.0"}, nil)
		for _, tool := range tools {
			mcp.AddTool(srv, &mcp.Tool{Name: tool, Description: "echoes its input"},
				func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
					u.Calls.Add(1)
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + tool + ":" + in.Text}}}, nil, nil
				})
		}
		srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				if method == "initialize" {
					u.Inits.Add(1)
				}
				return next(ctx, method, req)
			}
		})
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
			&mcp.StreamableHTTPOptions{Stateless: stateless, DisableLocalhostProtection: true})
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				u.mu.Lock()
				u.lastHeaders = r.Header.Clone()
				u.mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	hs := &http.Server{Handler: build()}
	go hs.Serve(lis)
	u.restart = func() {
		hs.Close()
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("restart upstream %s: %v", name, err)
		}
		hs = &http.Server{Handler: build()}
		go hs.Serve(l)
	}
	t.Cleanup(func() { hs.Close() })
	u.URL = "http://" + addr + "/mcp"
	return u
}

// serveMCP serves srv over Streamable HTTP on a loopback port for the
// test and returns its endpoint URL.
func serveMCP(t *testing.T, srv *mcp.Server, stateless bool) string {
	t.Helper()
	return serveMCPWith(t, srv, &mcp.StreamableHTTPOptions{Stateless: stateless, DisableLocalhostProtection: true})
}

// serveMCPWith is serveMCP with the handler's options.
func serveMCPWith(t *testing.T, srv *mcp.Server, opts *mcp.StreamableHTTPOptions) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, opts)}
	go hs.Serve(lis)
	t.Cleanup(func() { hs.Close() })
	return "http://" + lis.Addr().String() + "/mcp"
}

// serveHandler serves h on a loopback port for the test and returns its
// /mcp URL.
func serveHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(lis)
	t.Cleanup(func() { hs.Close() })
	return "http://" + lis.Addr().String() + "/mcp"
}

// Restart replaces the upstream with a fresh server on the same address:
// every session it had is gone.
func (u *upstream) Restart() { u.restart() }

// gatewayUnder starts the whole gateway (real Envoy) on the given config
// text and returns the running instance.
func gatewayUnder(t *testing.T, yamlText string) *gateway.Instance {
	t.Helper()
	inst, _ := gatewayWithLogs(t, yamlText)
	return inst
}

// gatewayWithLogs is gatewayUnder that also returns what the gateway
// (debug level) and Envoy logged.
func gatewayWithLogs(t *testing.T, yamlText string) (*gateway.Instance, *testutil.SyncBuffer) {
	t.Helper()
	return startGateway(t, yamlText, gateway.Options{Port: mustFreePort(t)})
}

// startGateway starts the whole gateway (real Envoy) on the config text
// with opts; EnvoyBin and the logs are filled in. The test's cleanup
// closes it (Close may also be called earlier) and prints the logs of a
// failed test.
func startGateway(t *testing.T, yamlText string, opts gateway.Options) (*gateway.Instance, *testutil.SyncBuffer) {
	t.Helper()
	return startGatewayEnv(t, yamlText, nil, opts)
}

// startGatewayEnv is startGateway with env as the environment the config
// reads (os.environ/ references, DATABASE_URL, ...); the gateway is
// opened as `mcpgw run` opens it (gateway.Open: with store_model_in_db,
// the store's objects too).
func startGatewayEnv(t *testing.T, yamlText string, env map[string]string, opts gateway.Options) (*gateway.Instance, *testutil.SyncBuffer) {
	t.Helper()
	cfg, err := configfile.Parse([]byte(yamlText), "test.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &testutil.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt, err := gateway.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	opts.EnvoyBin = requireEnv(t, "ENVOY_BIN")
	// As mcpgw run beside make build's module: Envoy's fast path decides
	// in the gateway's dynamic module.
	opts.FastPathModule = testutil.FastPathModule(t)
	opts.EnvoyOutput = logs
	opts.Logger = log
	inst, err := gateway.Start(ctx, rt, opts)
	if err != nil {
		t.Fatalf("start gateway: %v\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		inst.Close()
		if t.Failed() {
			t.Logf("gateway and Envoy logs:\n%s", logs.String())
		}
	})
	return inst, logs
}

// freePort is a port for a test's Envoy or server to bind
// (testutil.PickPort: never one a port-0 listener can take first).
func freePort() (int, error) { return testutil.PickPort() }

// connect opens a go-sdk client session through the gateway.
func connect(t *testing.T, endpoint string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect through gateway: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// post sends one raw HTTP request to the gateway.
func post(t *testing.T, url string, body []byte, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // generous for small, busy CI machines
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func configFor(servers map[string]string) string {
	var b strings.Builder
	b.WriteString("mcp_servers:\n")
	for alias, url := range servers {
		fmt.Fprintf(&b, "  %s:\n    url: %q\n    transport: http\n", alias, url)
	}
	b.WriteString("gateway:\n  max_request_body_bytes: 65536\n")
	return b.String()
}
