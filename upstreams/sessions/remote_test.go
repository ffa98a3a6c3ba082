package sessions

import (
	"strings"
	"testing"
)

func TestPingAnswered(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		ok          bool
	}{
		{"json result", "application/json", `{"jsonrpc":"2.0","id":1,"result":{}}`, true},
		{"json with charset", "application/json; charset=utf-8", `{"jsonrpc":"2.0","id":1,"result":{}}`, true},
		{"json error", "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Session not found"}}`, false},
		{"json other id", "application/json", `{"jsonrpc":"2.0","id":2,"result":{}}`, false},
		{"json no result", "application/json", `{"jsonrpc":"2.0","id":1}`, false},
		{"json garbage", "application/json", `<html>`, false},
		{"sse result", "text/event-stream", "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", true},
		{"sse no space", "text/event-stream", "data:{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", true},
		{"sse after a notification", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", true},
		{"sse unterminated", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", true},
		{"sse empty", "text/event-stream", "", false},
		{"sse error", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":\"x\"}}\n\n", false},
		{"html", "text/html", `{"jsonrpc":"2.0","id":1,"result":{}}`, false},
		{"no content type", "", `{"jsonrpc":"2.0","id":1,"result":{}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pingAnswered(tt.contentType, strings.NewReader(tt.body))
			if (err == nil) != tt.ok {
				t.Fatalf("pingAnswered(%q, %q) = %v, want ok %v", tt.contentType, tt.body, err, tt.ok)
			}
		})
	}
}

// An upstream's answer to a ping is untrusted: any bytes end in an error
// or nil, never a panic or a hang.
func FuzzPingAnswered(f *testing.F) {
	f.Add("application/json", `{"jsonrpc":"2.0","id":1,"result":{}}`)
	f.Add("text/event-stream", "data: {\"id\":1,\"result\":{}}\n\n")
	f.Add("text/event-stream", "data: x\ndata: y\n\n\n")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		_ = pingAnswered(contentType, strings.NewReader(body))
	})
}
