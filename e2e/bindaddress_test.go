//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestBindAddress: gateway.bind_address is where Envoy listens (127.0.0.x
// are all this machine's loopback on Linux, so a listener on one refuses
// the others). The endpoint, and the sidecar's way back into Envoy for a
// legacy SSE client, follow it.
func TestBindAddress(t *testing.T) {
	up := startUpstream(t, "alpha", true, "echo")
	for _, tc := range []struct {
		name, bind string
		host       string // the endpoint's
		refused    string // an address nothing listens on
		reached    []string
	}{
		{"default: every interface", "", "127.0.0.1", "", []string{"127.0.0.1", "127.0.0.2"}},
		{"loopback", "127.0.0.1", "127.0.0.1", "127.0.0.2", []string{"127.0.0.1"}},
		{"one address", "127.0.0.2", "127.0.0.2", "127.0.0.1", []string{"127.0.0.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configFor(map[string]string{"alpha": up.URL})
			if tc.bind != "" {
				cfg += fmt.Sprintf("  bind_address: %q\n", tc.bind)
			}
			gw := gatewayUnder(t, cfg)
			if want := fmt.Sprintf("http://%s:%d/mcp", tc.host, gw.Port); gw.Endpoint != want {
				t.Fatalf("endpoint %s, want %s", gw.Endpoint, want)
			}
			for _, host := range tc.reached {
				c, err := net.DialTimeout("tcp", net.JoinHostPort(host, itoa(gw.Port)), 5*time.Second)
				if err != nil {
					t.Fatalf("%s: %v", host, err)
				}
				c.Close()
			}
			if tc.refused != "" {
				if c, err := net.DialTimeout("tcp", net.JoinHostPort(tc.refused, itoa(gw.Port)), 5*time.Second); err == nil {
					c.Close()
					t.Fatalf("%s:%d accepts connections", tc.refused, gw.Port)
				}
			}
			cs := connect(t, gw.Endpoint)
			if got := mustText(t, cs, "alpha-echo", map[string]any{"text": "bound"}); got != "alpha:echo:bound" {
				t.Errorf("alpha-echo = %q", got)
			}
			// A legacy SSE client's messages re-enter Envoy at the bind
			// address.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			legacy, err := mcp.NewClient(&mcp.Implementation{Name: "legacy", Version: "1"}, nil).
				Connect(ctx, &mcp.SSEClientTransport{Endpoint: strings.TrimSuffix(gw.Endpoint, "/mcp") + "/sse"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer legacy.Close()
			res, err := legacy.CallTool(ctx, &mcp.CallToolParams{Name: "alpha-echo", Arguments: map[string]any{"text": "sse"}})
			if err != nil || res.IsError || res.Content[0].(*mcp.TextContent).Text != "alpha:echo:sse" {
				t.Fatalf("legacy SSE call: %+v %v", res, err)
			}
		})
	}
}
