package rpc

import (
	"strings"
	"testing"
)

// An upstream answer no MCP client can read (a success or server error
// that is not JSON-RPC) becomes a 502 naming the server; 4xx answers and
// bodiless 202/204 pass.
func TestUnreadableAnswer(t *testing.T) {
	for _, tc := range []struct {
		code int
		ct   string
		want bool
	}{
		{200, "text/html", true}, {200, "", true}, {500, "text/plain", true}, {503, "", true},
		{200, "Text/HTML; charset=utf-8", true}, {200, "application/json; charset=utf-8", false},
		{200, "application/json", false}, {200, "text/event-stream", false}, {200, "application/problem+json", false},
		{202, "", false}, {204, "", false}, {401, "text/plain", false}, {429, "text/html", false}, {404, "text/plain", false},
	} {
		if got := UnreadableAnswer(tc.code, tc.ct); got != tc.want {
			t.Errorf("UnreadableAnswer(%d, %q) = %v, want %v", tc.code, tc.ct, got, tc.want)
		}
	}
	e := UnreadableAnswerError("wiki", 200, "Text/HTML; charset=utf-8")
	if want := `upstream MCP server "wiki" answered HTTP 200 with text/html, not JSON-RPC`; e.Status != 502 || e.Code != CodeInternalError || e.Message != want {
		t.Errorf("UnreadableAnswerError = %+v, want 502, %d, %q", e, CodeInternalError, want)
	}
	// An upstream's media type is shown short and visible ASCII only.
	e = UnreadableAnswerError("wiki", 500, "x/"+strings.Repeat("\u00e9", 40))
	if m := strings.TrimSuffix(strings.TrimPrefix(e.Message, `upstream MCP server "wiki" answered HTTP 500 with `), ", not JSON-RPC"); len(m) > 64 || strings.ContainsFunc(m, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		t.Errorf("media type shown as %q", m)
	}
}
