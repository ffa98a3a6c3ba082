package rpc

import (
	"encoding/json"
	"testing"
)

func TestStripModernMeta(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c"},"progressToken":7}}}`,
			`{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{"_meta":{"progressToken":7},"name":"x"}}`},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			`{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}}`},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"<b>"}}`, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"<b>"}}`},
		{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":1,"method":"ping"}`},
	}
	for _, tt := range tests {
		got, err := StripModernMeta([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("StripModernMeta(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := StripModernMeta([]byte(`{`)); err == nil {
		t.Error("bad JSON accepted")
	}
}

func FuzzStripModernMeta(f *testing.F) {
	f.Add([]byte(`{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"x"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := StripModernMeta(body)
		if err == nil && json.Valid(body) && !json.Valid(out) {
			t.Fatalf("valid %s became invalid %s", body, out)
		}
	})
}
