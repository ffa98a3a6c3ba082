package aggregate

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestErrorFor: a legacy SSE client's request the gateway could not carry
// is answered on the stream with a JSON-RPC error bearing its id; a
// notification, or a body that is not JSON-RPC, gets no answer.
func TestErrorFor(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call"}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"gateway unreachable"}}`},
		{`{"jsonrpc":"2.0","id":"a-1","method":"ping"}`, `{"jsonrpc":"2.0","id":"a-1","error":{"code":-32603,"message":"gateway unreachable"}}`},
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, ""},
		{`not json`, ""},
	}
	for _, tt := range tests {
		got := errorFor([]byte(tt.body), "gateway unreachable")
		if tt.want == "" {
			if got != nil {
				t.Errorf("errorFor(%s) = %s, want no answer", tt.body, got)
			}
			continue
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("errorFor(%s) = %s: %v", tt.body, got, err)
		}
		json.Unmarshal([]byte(tt.want), &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("errorFor(%s) = %s, want %s", tt.body, got, tt.want)
		}
	}
}
