package sessions

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
)

func TestPingAnswered(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		ok          bool
	}{
		{"json result", "application/json", `{"jsonrpc":"2.0","id":"p","result":{}}`, true},
		{"json with charset", "application/json; charset=utf-8", `{"jsonrpc":"2.0","id":"p","result":{}}`, true},
		{"json error", "application/json", `{"jsonrpc":"2.0","id":"p","error":{"code":-32600,"message":"Session not found"}}`, false},
		{"json other id", "application/json", `{"jsonrpc":"2.0","id":2,"result":{}}`, false},
		{"json a client's id 1", "application/json", `{"jsonrpc":"2.0","id":1,"result":{}}`, false},
		{"json no result", "application/json", `{"jsonrpc":"2.0","id":1}`, false},
		{"json garbage", "application/json", `<html>`, false},
		{"sse result", "text/event-stream", "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}\n\n", true},
		{"sse no space", "text/event-stream", "data:{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}\n\n", true},
		{"sse after a notification", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}\n\n", true},
		{"sse unterminated", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}", true},
		{"sse empty", "text/event-stream", "", false},
		{"sse error", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":\"p\",\"error\":{\"code\":1,\"message\":\"x\"}}\n\n", false},
		{"html", "text/html", `{"jsonrpc":"2.0","id":"p","result":{}}`, false},
		{"no content type", "", `{"jsonrpc":"2.0","id":"p","result":{}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pingAnswered(tt.contentType, strings.NewReader(tt.body), "p")
			if (err == nil) != tt.ok {
				t.Fatalf("pingAnswered(%q, %q) = %v, want ok %v", tt.contentType, tt.body, err, tt.ok)
			}
		})
	}
}

// An upstream's answer to a ping is untrusted: any bytes end in an error
// or nil, never a panic or a hang.
func FuzzPingAnswered(f *testing.F) {
	f.Add("application/json", `{"jsonrpc":"2.0","id":"p","result":{}}`)
	f.Add("text/event-stream", "data: {\"id\":\"p\",\"result\":{}}\n\n")
	f.Add("text/event-stream", "data: x\ndata: y\n\n\n")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		_ = pingAnswered(contentType, strings.NewReader(body), "p")
	})
}

// A session whose client has a call with id 1 still running upstream is
// alive: the pool's ping must not take a client's id (go-sdk refuses a
// duplicate in-flight id with 400, and the session looked lost).
func TestPingBesideAClientsCall(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	srv := mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "wait"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &mcp.CallToolResult{}, nil, nil
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	up := &upstreams.Upstream{Alias: "up", Transport: upstreams.TransportHTTP, URL: u}

	p := NewPool(Options{})
	defer p.Close()
	s, err := p.Session(t.Context(), Key{ClientSession: "gw-1", Alias: "up"}, up, "2025-11-25")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, hs.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait","arguments":{}}}`))
		setTestHeaders(req, s)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	<-started
	alive := p.Alive(t.Context(), s)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !alive {
		t.Fatal("a session with a client's call in flight looked lost to the pool's ping")
	}
}

func setTestHeaders(req *http.Request, s Session) {
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", s.ID)
	req.Header.Set("Mcp-Protocol-Version", s.ProtocolVersion)
}
