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

func TestWithMeta(t *testing.T) {
	tp := map[string]string{"traceparent": "00-a-b-01"}
	tests := []struct {
		name, in, want string
		fail           bool
	}{
		{"no params", `{"jsonrpc":"2.0","id":1,"method":"ping"}`,
			`{"id":1,"jsonrpc":"2.0","method":"ping","params":{"_meta":{"traceparent":"00-a-b-01"}}}`, false},
		{"null params", `{"jsonrpc":"2.0","id":1,"method":"ping","params":null}`,
			`{"id":1,"jsonrpc":"2.0","method":"ping","params":{"_meta":{"traceparent":"00-a-b-01"}}}`, false},
		{"params without _meta", `{"id":1,"params":{"name":"x","arguments":{"q":"<&>"}}}`,
			`{"id":1,"params":{"_meta":{"traceparent":"00-a-b-01"},"arguments":{"q":"<&>"},"name":"x"}}`, false},
		{"client _meta kept, its traceparent replaced", `{"id":1,"params":{"_meta":{"progressToken":"p","traceparent":"old","x/y":{"z":1}}}}`,
			`{"id":1,"params":{"_meta":{"progressToken":"p","traceparent":"00-a-b-01","x/y":{"z":1}}}}`, false},
		{"params array", `{"id":1,"params":[1]}`, "", true},
		{"_meta not an object", `{"id":1,"params":{"_meta":"x"}}`, "", true},
		{"not an object", `[1]`, "", true},
		{"not JSON", `{`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithMeta([]byte(tt.in), tp)
			if (err != nil) != tt.fail {
				t.Fatalf("err %v, want failure %v", err, tt.fail)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func FuzzWithMeta(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"a":1}}}`))
	f.Add([]byte(`{"params":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := WithMeta(body, map[string]string{"traceparent": "v"})
		if err != nil {
			return
		}
		var msg struct {
			Params struct {
				Meta struct{ Traceparent string } `json:"_meta"`
			}
		}
		if err := json.Unmarshal(out, &msg); err != nil || msg.Params.Meta.Traceparent != "v" {
			t.Fatalf("%s -> %s (%v)", body, out, err)
		}
	})
}
