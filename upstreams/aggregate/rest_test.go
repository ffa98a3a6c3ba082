package aggregate

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadRPCResponse(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body string
		result, errMsg          string // what is read; both "" for an error
	}{
		{"JSON result", "application/json", `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`, `{"content":[]}`, ""},
		{"JSON error", "application/json", `{"jsonrpc":"2.0","id":1,"error":{"code":-32043,"message":"no"}}`, "", "no"},
		{"an error before the request was read: null id", "application/json", `{"jsonrpc":"2.0","id":null,"error":{"code":-32043,"message":"denied"}}`, "", "denied"},
		{"event stream: notifications skipped", "text/event-stream",
			"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"isError\":true}}\n\n", `{"isError":true}`, ""},
		{"another id's result", "application/json", `{"jsonrpc":"2.0","id":2,"result":{}}`, "", ""},
		{"a result with a null id", "application/json", `{"jsonrpc":"2.0","id":null,"result":{}}`, "", ""},
		{"HTML", "text/html", `<html>502</html>`, "", ""},
		{"stream without the response", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{"Content-Type": {c.contentType}}, Body: io.NopCloser(strings.NewReader(c.body))}
			m, err := readRPCResponse(resp)
			switch {
			case c.result == "" && c.errMsg == "":
				if err == nil {
					t.Fatalf("read %+v", m)
				}
			case err != nil:
				t.Fatal(err)
			case c.result != "" && string(m.Result) != c.result:
				t.Fatalf("result %s", m.Result)
			case c.errMsg != "" && (m.Error == nil || m.Error.Message != c.errMsg):
				t.Fatalf("error %+v", m.Error)
			}
		})
	}
}

func TestRESTStatus(t *testing.T) {
	for _, c := range []struct{ status, code, want int }{
		{403, -32043, 403}, {401, -32041, 401}, {502, -32603, 502}, {404, -32600, 404},
		{200, -32602, 400}, {200, -32600, 400}, {200, -32603, 502},
	} {
		if got := restStatus(c.status, c.code); got != c.want {
			t.Errorf("restStatus(%d, %d) = %d, want %d", c.status, c.code, got, c.want)
		}
	}
}

func TestRedactURLs(t *testing.T) {
	got := redactURLs(`Post "https://api.example.com/mcp?token=s3cret": dial tcp 10.0.0.1:443: refused; see http://x/y`)
	if strings.Contains(got, "s3cret") || got != `Post "<url>": dial tcp 10.0.0.1:443: refused; see <url>` {
		t.Fatalf("got %q", got)
	}
}
