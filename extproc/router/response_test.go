package router

import (
	"testing"
)

// Answered tells a replayed call's answer that holds its JSON-RPC response
// from one cut short (empty, only notifications, a broken event).
func TestAnswered(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		want     bool
	}{
		{"application/json", `{"jsonrpc":"2.0","id":1,"result":{}}`, true},
		{"application/json; charset=utf-8", `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}`, true},
		{"application/json", ``, false},
		{"application/json", `{"jsonrpc":"2.0","method":"notifications/progress"}`, false},
		{"application/json", `{"jsonrpc":"2.0","id":1,"res`, false},
		{"text/event-stream", "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n", true},
		{"text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n\r\n", true},
		{"text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\r", true},
		{"text/event-stream", "data: {\"jsonrpc\":\"2.0\",\n", false},
		{"text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n", false},
		{"text/event-stream", ``, false},
	} {
		if got := Answered(tc.ct, []byte(tc.body)); got != tc.want {
			t.Errorf("Answered(%q, %q) = %v, want %v", tc.ct, tc.body, got, tc.want)
		}
	}
}

func FuzzAnswered(f *testing.F) {
	f.Add("text/event-stream", []byte("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"))
	f.Add("application/json", []byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		_ = Answered(ct, body) // must not panic on anything an upstream sends
	})
}
