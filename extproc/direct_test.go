package extproc

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// recorded is one Recorder observation.
type recorded struct{ method, server, tool, outcome string }

type fakeRecorder struct {
	mu  sync.Mutex
	got []recorded
}

func (f *fakeRecorder) Request(method, server, tool, outcome string, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, recorded{method, server, tool, outcome})
}

// TestDecideDirect: a request Envoy sends the sidecar directly is decided
// as ext_proc decides it (fixtureConfig: alice may use demo): the
// router's refusals are written as Envoy writes them, a list is let
// through with what the access log needs, and anything the router would
// not send the sidecar unchanged is refused, never served.
func TestDecideDirect(t *testing.T) {
	list := `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`
	for _, c := range []struct {
		name      string
		path      string
		header    map[string]string
		body      string
		serve     bool
		status    int
		inBody    string            // in the reply
		respHdr   map[string]string // on the answer (a reply or the served one)
		noRespHdr []string
		metric    recorded // with done(200) when served
	}{
		{name: "a list with a key", path: "/mcp", header: map[string]string{"X-Litellm-Api-Key": "sk-alice"}, body: list, serve: true,
			respHdr: map[string]string{logKeyAliasHeader: "alice", logMCPMethodHeader: "tools/list"}, noRespHdr: []string{logJSONRPCErrorHeader},
			metric: recorded{"tools/list", "", "", "ok"}},
		{name: "no key", path: "/mcp", body: list, status: 401, inBody: `"code":-32041`,
			respHdr:   map[string]string{logJSONRPCErrorHeader: "-32041", "Www-Authenticate": "ApiKey realm=", "Content-Type": "application/json"},
			noRespHdr: []string{logKeyAliasHeader, logMCPMethodHeader}, metric: recorded{"", "", "", "denied"}},
		{name: "a key given twice", path: "/mcp", header: map[string]string{"X-Litellm-Api-Key": "sk-alice\x00sk-other"}, body: list, status: 400,
			inBody: "sent more than once"},
		{name: "unknown path", path: "/elsewhere", header: map[string]string{"X-Litellm-Api-Key": "sk-alice"}, body: list, status: 404,
			inBody: "no MCP endpoint at this path"},
		{name: "bad JSON", path: "/mcp", header: map[string]string{"X-Litellm-Api-Key": "sk-alice"}, body: `{"jsonrpc"`, status: 400,
			inBody: `"code":-32700`, respHdr: map[string]string{logKeyAliasHeader: "alice", logJSONRPCErrorHeader: "-32700"}},
		{name: "a routed call is never served here", path: "/mcp", header: map[string]string{"X-Litellm-Api-Key": "sk-alice"},
			body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo","arguments":{}}}`, status: 500,
			inBody: "could not decide", respHdr: map[string]string{logMCPMethodHeader: "tools/call", logJSONRPCErrorHeader: "-32603"},
			metric: recorded{"tools/call", "", "", "internal_error"}},
		{name: "the direct-list header is not the router's", path: "/mcp",
			header: map[string]string{"X-Litellm-Api-Key": "sk-alice", wellknown.DirectListHeader: "token"}, body: list, serve: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &fakeRecorder{}
			svc := fixtureServer(t, WithMetrics(rec))
			r := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Accept", "application/json, text/event-stream")
			for k, v := range c.header {
				for i, part := range strings.Split(v, "\x00") {
					if i == 0 {
						r.Header.Set(k, part)
					} else {
						r.Header.Add(k, part)
					}
				}
			}
			w := httptest.NewRecorder()
			serve, done := svc.DecideDirect(w, r, []byte(c.body))
			if serve != c.serve {
				t.Fatalf("serve = %v, want %v (reply %d %s)", serve, c.serve, w.Code, w.Body)
			}
			if serve {
				if w.Body.Len() != 0 {
					t.Errorf("wrote %q before the sidecar served", w.Body)
				}
				done(http.StatusOK)
			} else {
				if w.Code != c.status || !strings.Contains(w.Body.String(), c.inBody) {
					t.Errorf("reply %d %s, want %d with %q", w.Code, w.Body, c.status, c.inBody)
				}
				if got := w.Header().Get("Content-Length"); got != "" && got != strconv.Itoa(w.Body.Len()) {
					t.Errorf("Content-Length %s for a body of %d", got, w.Body.Len())
				}
			}
			for k, v := range c.respHdr {
				if got := w.Header().Get(k); !strings.HasPrefix(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range c.noRespHdr {
				if got := w.Header().Get(k); got != "" {
					t.Errorf("header %s = %q, want none", k, got)
				}
			}
			if c.metric != (recorded{}) {
				if len(rec.got) != 1 || rec.got[0] != c.metric {
					t.Errorf("metrics %+v, want one %+v", rec.got, c.metric)
				}
			} else if len(rec.got) > 1 {
				t.Errorf("metrics %+v: more than one observation", rec.got)
			}
		})
	}
}
