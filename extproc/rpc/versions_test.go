package rpc

import (
	"strings"
	"testing"
)

func TestUpgradeResults(t *testing.T) {
	tests := []struct {
		name, ct, in, want string
	}{
		{"json", "application/json", `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`,
			`{"id":1,"jsonrpc":"2.0","result":{"content":[],"resultType":"complete"}}`},
		{"json with charset", "application/json; charset=utf-8", `{"jsonrpc":"2.0","id":1,"result":{}}`,
			`{"id":1,"jsonrpc":"2.0","result":{"resultType":"complete"}}`},
		{"already typed", "application/json", `{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required"}}`},
		{"error untouched", "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}`,
			`{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}`},
		{"sse", "text/event-stream",
			"event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"isError\":false}}\n\n",
			"event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\nevent: message\ndata: {\"id\":3,\"jsonrpc\":\"2.0\",\"result\":{\"isError\":false,\"resultType\":\"complete\"}}\n\n"},
		{"garbage", "application/json", `{nope`, `{nope`},
		{"other type", "text/plain", `{"jsonrpc":"2.0","id":1,"result":{}}`, `{"jsonrpc":"2.0","id":1,"result":{}}`},
	}
	for _, tt := range tests {
		if got := string(UpgradeResults([]byte(tt.in), tt.ct)); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func FuzzUpgradeResults(f *testing.F) {
	f.Add([]byte("data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, sse bool) {
		ct := "application/json"
		if sse {
			ct = "text/event-stream"
		}
		out := UpgradeResults(body, ct)
		if !sse && strings.Contains(string(body), `"resultType"`) && string(out) != string(body) && !strings.Contains(string(out), `"resultType"`) {
			t.Fatal("lost resultType")
		}
	})
}
