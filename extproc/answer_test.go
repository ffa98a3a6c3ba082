package extproc

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/upstreams"
)

// An answer the router rewrites is withheld chunk by chunk and goes out
// rewritten in place of the last chunk; one over the limit is replaced,
// as soon as it passes it, by a JSON-RPC error naming the server and the
// limit, and the rest is dropped.
func TestCollectedAnswer(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9/mcp")
	call := &router.Call{Upstream: &upstreams.Upstream{Alias: "old", URL: u}, ProtocolVersion: "2026-07-28",
		Downgraded: true, RequestID: json.RawMessage(`7`)}
	answer := `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", 3000) + `"}]}}`

	a := &collectedAnswer{contentType: "application/json", limit: 4096}
	var got []byte
	for i := 0; i < len(answer); i += 1000 {
		end := min(i+1000, len(answer))
		out, over := a.add(call, []byte(answer[i:end]), end == len(answer))
		if over || (end < len(answer) && out != nil) {
			t.Fatalf("chunk at %d: %q over=%v", i, out, over)
		}
		got = append(got, out...)
	}
	var msg struct {
		ID     int
		Result struct {
			ResultType string
			Content    []struct{ Text string }
		}
	}
	if err := json.Unmarshal(got, &msg); err != nil || msg.ID != 7 || msg.Result.ResultType != "complete" || len(msg.Result.Content[0].Text) != 3000 {
		t.Fatalf("rewritten answer %.200s: %v", got, err)
	}

	a = &collectedAnswer{contentType: "application/json", limit: 2500}
	out1, over1 := a.add(call, []byte(answer[:2000]), false)
	out2, over2 := a.add(call, []byte(answer[2000:3000]), false)
	out3, over3 := a.add(call, []byte(answer[3000:]), true)
	if out1 != nil || over1 || !over2 || over3 || out3 != nil {
		t.Fatalf("over the limit: %q %v / %q %v / %q %v", out1, over1, out2, over2, out3, over3)
	}
	want := `{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"upstream MCP server \"old\" answered more than 2500 bytes, the gateway's limit for answers it rewrites (gateway.max_response_body_bytes)"}}`
	if !bytes.Equal(out2, []byte(want)) {
		t.Fatalf("error answer %s\nwant %s", out2, want)
	}
}
