package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/gateway"
)

// The differential test of Envoy's fast path (docs/architecture.md, "The
// fast path"): two gateways on the same upstreams and the same config,
// one with gateway.fast_path on and one with it off, take the same raw
// requests and must answer them alike and reach the upstreams alike. The
// fast one must really have decided the allowed calls itself (decided_by
// "envoy" in its access log) and nothing else.

const fastPathDiffConfig = `
general_settings:
  master_key: sk-master-0123456789
mcp_servers:
  alpha:
    url: "%s"
    allowed_params:
      echo: [text]
  beta:
    url: "%s"
    access_groups: [grp]
    disallowed_tools: [shout]
  gamma:
    url: "%s"
  delta:
    url: "%s"
access:
%s  keys:
    - {key_alias: tools, key: sk-tools-0123456789, object_permission: {mcp_servers: [alpha, beta], mcp_tool_permissions: {alpha: [echo], beta: [echo, shout]}}}
    - {key_alias: teamed, key: sk-teamed-0123456789, team_id: platform, object_permission: {mcp_servers: [alpha, gamma]}}
    - {key_alias: grouped, key: sk-grouped-0123456789, object_permission: {mcp_access_groups: [grp]}}
    - {key_alias: blocked, key: sk-blocked-0123456789, blocked: true, object_permission: {mcp_servers: [alpha]}}
    - {key_alias: expiring, key: sk-expiring-0123456789, expires: "2099-01-01T00:00:00Z", object_permission: {mcp_servers: [alpha]}}
  teams:
    - {team_id: platform, object_permission: {mcp_servers: [alpha, gamma], mcp_tool_permissions: {alpha: [echo]}}}
gateway:
  fast_path: %v
  discovery_ttl: 3600
  session_secrets: ["diff-test-session-secret-0123456789abcdef"]
`

const (
	diffMaster  = "sk-master-0123456789"
	diffTools   = "sk-tools-0123456789"
	diffTeamed  = "sk-teamed-0123456789"
	diffGrouped = "sk-grouped-0123456789"
	diffBlocked = "sk-blocked-0123456789"
	// A key with an expiry is never handed to Envoy (its grant would
	// outlive it there): its calls always take the full path.
	diffExpiring = "sk-expiring-0123456789"
)

// diffPairs are the (key, server) pairs whose echo each key may call.
var diffPairs = []struct{ key, server string }{
	{diffTools, "alpha"}, {diffTools, "beta"},
	{diffTeamed, "alpha"}, {diffTeamed, "gamma"},
	{diffGrouped, "beta"},
	{diffMaster, "alpha"}, {diffMaster, "beta"}, {diffMaster, "gamma"}, {diffMaster, "delta"},
}

// diffSeen is one tools/call request an upstream received.
type diffSeen struct {
	header http.Header
	body   []byte
}

// diffUpstream is startUpstream's go-sdk server (stateless: go-sdk
// speaks 2026-07-28 only so) that also keeps every tools/call request
// it received, headers and body, so that the two paths can be compared
// request by request (health checks and discovery are other methods).
type diffUpstream struct {
	name  string
	URL   string
	Calls atomic.Int64 // tool handler runs
	mu    sync.Mutex
	seen  []diffSeen
	stop  func() // closes its listener: the upstream is down
}

func startDiffUpstream(t *testing.T, name string, tools ...string) *diffUpstream {
	t.Helper()
	u := &diffUpstream{name: name}
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1.0.0"}, nil)
	for _, tool := range tools {
		if tool == "any" {
			// Takes any arguments (no schema to refuse them) and
			// answers how many it got.
			srv.AddTool(&mcp.Tool{Name: tool, InputSchema: json.RawMessage(`{"type":"object"}`)},
				func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					u.Calls.Add(1)
					var args map[string]any
					json.Unmarshal(req.Params.Arguments, &args)
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("%s:any:%d", name, len(args))}}}, nil
				})
			continue
		}
		mcp.AddTool(srv, &mcp.Tool{Name: tool, Description: "echoes its input"},
			func(ctx context.Context, req *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
				u.Calls.Add(1)
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + tool + ":" + in.Text}}}, nil, nil
			})
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if bytes.Contains(body, []byte("tools/call")) {
				u.mu.Lock()
				u.seen = append(u.seen, diffSeen{r.Header.Clone(), body})
				u.mu.Unlock()
				// Headers of the upstream's own that the client may or
				// may not get: the two paths must agree.
				w.Header().Set("X-Upstream-Own", "up")
				w.Header().Set("Mcp-Session-Id", "upstream-session")
				if bytes.Contains(body, []byte(`"text":"html"`)) {
					// An answer no MCP client can read.
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.WriteHeader(http.StatusInternalServerError)
					io.WriteString(w, "<html>oops</html>")
					return
				}
				if bytes.Contains(body, []byte(`"text":"plain200"`)) {
					w.Header().Set("Content-Type", "text/plain")
					io.WriteString(w, "fine")
					return
				}
				if bytes.Contains(body, []byte(`"text":"json500"`)) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"upstream broke"}}`)
					return
				}
				if bytes.Contains(body, []byte(`"text":"empty202"`)) {
					w.WriteHeader(http.StatusAccepted)
					return
				}
				if bytes.Contains(body, []byte(`"text":"ask"`)) {
					// An upstream that asks its client something during
					// the call, then gives up on it: the request and the
					// cancellation reach a client that declared
					// capabilities, on /mcp, with the gateway's relayed
					// id. (An upstream without sessions cannot get the
					// answer; the ids must still agree.)
					w.Header().Set("Content-Type", "text/event-stream")
					w.WriteHeader(http.StatusOK)
					io.WriteString(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"q-1\",\"method\":\"elicitation/create\",\"params\":{\"message\":\"sure?\"}}\n\n")
					w.(http.Flusher).Flush()
					io.WriteString(w, "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"q-1\"}}\n\n"+
						"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"asked\"}]}}\n\n")
					return
				}
				if bytes.Contains(body, []byte(`"text":"teapot"`)) {
					w.Header().Set("Content-Type", "text/plain")
					w.WriteHeader(http.StatusTeapot)
					io.WriteString(w, "short and stout")
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})}
	go hs.Serve(lis)
	u.stop = func() { hs.Close() }
	t.Cleanup(u.stop)
	u.URL = "http://" + lis.Addr().String() + "/mcp"
	return u
}

// snapshot is how many calls the upstream has run and seen.
func (u *diffUpstream) snapshot() (int64, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.Calls.Load(), len(u.seen)
}

func (u *diffUpstream) since(n int) []diffSeen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.seen[n:])
}

// diffCase is one raw request of the corpus.
type diffCase struct {
	name    string
	alias   string // the server endpoint; "" = alpha
	path    string // the endpoint's path instead ("/mcp", ...)
	key     string // x-litellm-api-key; "" = none
	body    string
	version string            // MCP-Protocol-Version; "" = 2026-07-28
	mcpName string            // Mcp-Name; "" = none
	method  string            // Mcp-Method; "" = tools/call on 2026-07-28, none else
	headers map[string]string // more headers
	repeat  [][2]string       // headers added once more (a second value)
	query   string            // the endpoint's query string, "" = none
	chunked bool              // the body without a Content-Length
	fast    bool              // the fast gateway decides it in Envoy
	direct  bool              // the fast gateway sends it to the sidecar directly (a list)
}

// requestMeta is the per-request _meta of a 2026-07-28 request.
const requestMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`

func callBody(tool, args string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, tool, args)
}

// metaCallBody is callBody with requestMeta.
func metaCallBody(tool, args string) string {
	return strings.Replace(callBody(tool, args), `"params":{`, `"params":{`+requestMeta+`,`, 1)
}

// diffCorpus is the requests both gateways take; fast marks those the
// fast path must decide.
func diffCorpus() []diffCase {
	ok := `{"text":"hi"}`
	cs := []diffCase{}
	// Allowed calls for every key with a grant.
	for _, p := range diffPairs {
		cs = append(cs, diffCase{name: "allowed " + p.key + " " + p.server, alias: p.server, key: p.key,
			body: callBody("echo", ok), mcpName: "echo", fast: true})
	}
	add := func(c diffCase) { cs = append(cs, c) }
	// Tools a key may not call.
	for _, c := range []struct{ name, key, alias, tool string }{
		{"tools: shout on alpha (not in its tool permissions)", diffTools, "alpha", "shout"},
		{"tools: gamma (not its server)", diffTools, "gamma", "echo"},
		{"tools: shout on beta (disallowed_tools)", diffTools, "beta", "shout"},
		{"teamed: shout on alpha (team restricts)", diffTeamed, "alpha", "shout"},
		{"teamed: beta (not its server)", diffTeamed, "beta", "echo"},
		{"grouped: alpha (not in its group)", diffGrouped, "alpha", "echo"},
		{"grouped: shout on beta (disallowed_tools)", diffGrouped, "beta", "shout"},
		{"master: shout on beta (disallowed_tools)", diffMaster, "beta", "shout"},
		{"tools: a tool no server has", diffTools, "alpha", "nosuch"},
	} {
		add(diffCase{name: c.name, alias: c.alias, key: c.key, body: callBody(c.tool, ok), mcpName: c.tool})
	}
	// Allowed calls the fast path also takes.
	add(diffCase{name: "master: shout on alpha", alias: "alpha", key: diffMaster, body: callBody("shout", ok), mcpName: "shout", fast: true})
	// An open grant: the upstream answers for a tool it lacks, both ways.
	add(diffCase{name: "master: a tool no server has", alias: "gamma", key: diffMaster, body: callBody("nosuch", ok), mcpName: "nosuch", fast: true})
	// Another server's prefix is no prefix on alpha's endpoint: a tool
	// name like any other, the upstream's to answer.
	add(diffCase{name: "master: prefixed gamma-echo on alpha", key: diffMaster, mcpName: "gamma-echo", body: callBody("gamma-echo", ok), fast: true})
	add(diffCase{name: "master: ping on gamma", alias: "gamma", key: diffMaster, body: callBody("ping", ok), mcpName: "ping", fast: true})
	add(diffCase{name: "string id", key: diffTools, mcpName: "echo", fast: true,
		body: `{"jsonrpc":"2.0","id":"abc-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"s"}}}`})
	add(diffCase{name: "no arguments", key: diffTools, mcpName: "echo", fast: true,
		body: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}`})
	add(diffCase{name: "empty arguments", key: diffTools, mcpName: "echo", fast: true, body: callBody("echo", `{}`)})
	add(diffCase{name: "_meta with clientInfo", key: diffTools, mcpName: "echo", fast: true,
		body: `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"m"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"clientInfo":{"name":"x","version":"1"},"progressToken":7}}}`})
	add(diffCase{name: "x-other header", key: diffTools, mcpName: "echo", fast: true, body: callBody("echo", ok),
		headers: map[string]string{"x-other": "other-value"}})
	add(diffCase{name: "whitespace around the body", key: diffTools, mcpName: "echo", fast: true,
		body: "\n { \"jsonrpc\" : \"2.0\" , \"id\" : 4 , \"method\" : \"tools/call\" , \"params\" : { " + requestMeta + " , \"name\" : \"echo\" , \"arguments\" : { \"text\" : \"w\" } } } \n"})
	add(diffCase{name: "nested argument values", alias: "gamma", key: diffTeamed, mcpName: "echo", fast: true,
		body: callBody("echo", `{"text":"n","deep":{"text":[1,{"x":"y"}],"Text":null}}`)})
	// allowed_params.
	// The same name twice is one name to the policy (allowed), and the
	// upstream reads the body as sent either way.
	add(diffCase{name: "allowed_params: duplicate text", key: diffTools, mcpName: "echo", body: callBody("echo", `{"text":"x","text":"y"}`), fast: true})
	// An escape in an argument name: the fast path reads argument names
	// with the full path's reader (rpc.ArgumentNames), which decodes it:
	// allowed on both.
	add(diffCase{name: "allowed_params: escaped allowed param", key: diffTools, mcpName: "echo", body: callBody("echo", `{"t\u0065xt":"x"}`), fast: true})
	for _, c := range []struct{ name, args string }{
		{"extra param", `{"text":"x","loud":true}`},
		{"case variant Text", `{"Text":"x"}`},
		{"case variant Text beside text", `{"text":"x","Text":"y"}`},
		{"duplicate names, one disallowed", `{"text":"x","loud":1,"loud":2}`},
		{"duplicate names, disallowed then allowed", `{"loud":"x","text":"y","loud":"z"}`},
		{"escaped disallowed param", `{"text":"x","l\u006fud":1}`},
	} {
		add(diffCase{name: "allowed_params: " + c.name, key: diffTools, mcpName: "echo", body: callBody("echo", c.args)})
	}
	// The same on a server without allowed_params: any argument name.
	add(diffCase{name: "no allowed_params: extra param", alias: "gamma", key: diffTeamed, mcpName: "echo", fast: true,
		body: callBody("echo", `{"text":"x","loud":true}`)})
	// Keys.
	add(diffCase{name: "blocked key", key: diffBlocked, mcpName: "echo", body: callBody("echo", ok)})
	add(diffCase{name: "unknown key", key: "sk-unknown-0123456789", mcpName: "echo", body: callBody("echo", ok)})
	add(diffCase{name: "no key", mcpName: "echo", body: callBody("echo", ok)})
	// The Bearer form, read as the full path reads it.
	add(diffCase{name: "Bearer key in x-litellm-api-key", key: "Bearer " + diffTools, mcpName: "echo", body: callBody("echo", ok), fast: true})
	add(diffCase{name: "key in authorization only", mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"authorization": "Bearer " + diffTools}})
	add(diffCase{name: "authorization beside the key", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"authorization": "Bearer something-else"}})
	add(diffCase{name: "x-mcp-servers", key: diffMaster, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"x-mcp-servers": "alpha"}})
	add(diffCase{name: "x-mcp-servers naming another server", key: diffMaster, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"x-mcp-servers": "gamma"}})
	add(diffCase{name: "x-mcp-alpha-authorization", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"x-mcp-alpha-authorization": "Bearer up"}})
	add(diffCase{name: "Mcp-Session-Id", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"Mcp-Session-Id": "nope"}})
	add(diffCase{name: "Origin", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"Origin": "http://evil.example"}})
	// Duplicate and case-variant members.
	for _, c := range []struct{ name, body string }{
		{"name twice (allowed, refused)", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"shout","arguments":{"text":"x"}}}`},
		{"name twice (refused, allowed)", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shout","name":"echo","arguments":{"text":"x"}}}`},
		{"Name beside name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","Name":"shout","arguments":{"text":"x"}}}`},
		{"Name only", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"echo","arguments":{"text":"x"}}}`},
		{"ID beside id", `{"jsonrpc":"2.0","id":1,"ID":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"id twice", `{"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"params twice", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shout","arguments":{"text":"x"}},"params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"method twice", `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"Method beside method", `{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"tools/list","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"arguments twice", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"arguments":{"loud":1}}}`},
		{"Arguments beside arguments", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"Arguments":{"loud":1}}}`},
		{"escaped member name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"echo","arguments":{"text":"x"}}}`},
		{"escaped member name beside name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","n\u0061me":"shout","arguments":{"text":"x"}}}`},
		{"escaped tool name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\u0065cho","arguments":{"text":"x"}}}`},
		{"result member", `{"jsonrpc":"2.0","id":1,"method":"tools/call","result":{},"params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"uri in params", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","uri":"file:///x","arguments":{"text":"x"}}}`},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"id null", `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"id fraction", `{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"id object", `{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"no id (a notification)", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"escaped id", `{"jsonrpc":"2.0","id":"a\"b","method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`},
		{"arguments as an array", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":["text","x"]}}`},
		{"arguments null", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":null}}`},
		{"arguments a string", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":"text"}}`},
		{"params an array", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["echo"]}`},
		{"bad JSON", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"`},
		{"trailing garbage", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}} x`},
		{"two objects", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"shout","arguments":{"text":"x"}}}`},
		{"batch", `[` + callBody("echo", `{"text":"b1"}`) + `,` + strings.Replace(callBody("echo", `{"text":"b2"}`), `"id":1`, `"id":2`, 1) + `]`},
		{"batch with a refused call", `[` + callBody("echo", `{"text":"b1"}`) + `,` + strings.Replace(callBody("shout", `{"text":"b2"}`), `"id":1`, `"id":2`, 1) + `]`},
		{"non-ASCII tool name", callBody("écho", `{"text":"x"}`)},
	} {
		add(diffCase{name: "body: " + c.name, key: diffTools, mcpName: "echo", body: c.body})
	}
	// An escape in a value the full path decodes (the method): the fast
	// path reads the message with the full path's parser (rpc.Parse).
	add(diffCase{name: "body: escaped method", key: diffTools, mcpName: "echo", fast: true,
		body: `{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"echo","arguments":{"text":"x"}}}`})
	// Headers that disagree with the body.
	add(diffCase{name: "Mcp-Name shout, body echo", key: diffTools, mcpName: "shout", body: callBody("echo", ok)})
	add(diffCase{name: "Mcp-Name echo, body shout", key: diffTools, mcpName: "echo", body: callBody("shout", ok)})
	add(diffCase{name: "Mcp-Name Echo, body echo", key: diffTools, mcpName: "Echo", body: callBody("echo", ok)})
	add(diffCase{name: "Mcp-Method tools/list, body tools/call", key: diffTools, mcpName: "echo", method: "tools/list", body: callBody("echo", ok)})
	add(diffCase{name: "Mcp-Method tools/call, body tools/list", key: diffTools, mcpName: "echo",
		body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"echo"}}`})
	add(diffCase{name: "no Mcp-Name", key: diffTools, body: callBody("echo", ok)})
	add(diffCase{name: "Mcp-Param header", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"Mcp-Param-Text": "other"}})
	// Prefixed names on the per-server endpoint.
	add(diffCase{name: "prefixed alpha-echo", key: diffTools, mcpName: "alpha-echo", body: callBody("alpha-echo", ok)})
	add(diffCase{name: "prefixed alpha-shout", key: diffTools, mcpName: "alpha-shout", body: callBody("alpha-shout", ok)})
	// Content types and the query string.
	add(diffCase{name: "content-type with charset", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	add(diffCase{name: "content-type text/plain", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		headers: map[string]string{"Content-Type": "text/plain"}})
	// Upstream answers that are not JSON-RPC.
	add(diffCase{name: "upstream answers HTML 500", key: diffTools, mcpName: "echo", body: callBody("echo", `{"text":"html"}`), fast: true})
	add(diffCase{name: "upstream answers 418 text", key: diffTools, mcpName: "echo", body: callBody("echo", `{"text":"teapot"}`), fast: true})
	add(diffCase{name: "upstream answers HTML 500, string id", key: diffTools, mcpName: "echo", fast: true,
		body: `{"jsonrpc":"2.0","id":"q<&>","method":"tools/call","params":{"name":"echo","arguments":{"text":"html"}}}`})
	add(diffCase{name: "upstream answers 200 text/plain", key: diffTools, mcpName: "echo", body: callBody("echo", `{"text":"plain200"}`), fast: true})
	add(diffCase{name: "upstream answers 500 JSON-RPC", key: diffTools, mcpName: "echo", body: callBody("echo", `{"text":"json500"}`), fast: true})
	add(diffCase{name: "upstream answers 202 empty", key: diffTools, mcpName: "echo", body: callBody("echo", `{"text":"empty202"}`), fast: true})
	add(diffCase{name: "expiring key", key: diffExpiring, mcpName: "echo", body: callBody("echo", ok)})
	// Large bodies (the gateway's limit is 1 MiB), and some over the
	// limit (which held the request until the request timeout on a
	// candidate route, 408 instead of 413).
	add(diffCase{name: "argument of 200 KB", alias: "gamma", key: diffMaster, mcpName: "any", fast: true,
		body: callBody("any", `{"text":"`+strings.Repeat("y", 200<<10)+`"}`)})
	add(diffCase{name: "argument of 700 KB", alias: "gamma", key: diffMaster, mcpName: "any", fast: true,
		body: callBody("any", `{"text":"`+strings.Repeat("y", 700<<10)+`"}`)})
	add(diffCase{name: "body just under 1 MiB", alias: "gamma", key: diffMaster, mcpName: "any", fast: true,
		body: callBody("any", `{"text":"`+strings.Repeat("y", 1<<20-400)+`"}`)})
	add(diffCase{name: "body of 4 MiB", alias: "gamma", key: diffMaster, mcpName: "any",
		body: callBody("any", `{"text":"`+strings.Repeat("y", 4<<20)+`"}`)})
	add(diffCase{name: "body over 1 MiB", alias: "gamma", key: diffMaster, mcpName: "any",
		body: callBody("any", `{"text":"`+strings.Repeat("y", 1<<20)+`"}`)})
	// Limits on arguments (policy/request.go): 256 names of 256 bytes.
	manyArgs := func(n, size int) string {
		var b strings.Builder
		b.WriteString(`{"text":"many"`)
		for i := 1; i < n; i++ {
			name := fmt.Sprintf("a%d", i)
			name += strings.Repeat("x", max(0, size-len(name)))
			fmt.Fprintf(&b, `,%q:1`, name)
		}
		b.WriteString("}")
		return b.String()
	}
	add(diffCase{name: "256 arguments", alias: "gamma", key: diffMaster, mcpName: "any", body: callBody("any", manyArgs(256, 0)), fast: true})
	add(diffCase{name: "257 arguments", alias: "gamma", key: diffMaster, mcpName: "any", body: callBody("any", manyArgs(257, 0))})
	add(diffCase{name: "an argument name of 256 bytes", alias: "gamma", key: diffMaster, mcpName: "any", body: callBody("any", manyArgs(2, 256)), fast: true})
	add(diffCase{name: "an argument name of 257 bytes", alias: "gamma", key: diffMaster, mcpName: "any", body: callBody("any", manyArgs(2, 257))})
	// Ids and header forms the fast path leaves to the full path, or takes.
	add(diffCase{name: "negative id", key: diffTools, mcpName: "echo", fast: true,
		body: strings.Replace(callBody("echo", ok), `"id":1`, `"id":-5`, 1)})
	add(diffCase{name: "id of 17 digits", key: diffTools, mcpName: "echo",
		body: strings.Replace(callBody("echo", ok), `"id":1`, `"id":12345678901234567`, 1)})
	add(diffCase{name: "Mcp-Method in capitals", key: diffTools, mcpName: "echo", method: "TOOLS/CALL", body: callBody("echo", ok)})
	// Media types are case-insensitive, on both paths.
	add(diffCase{name: "content-type in capitals", key: diffTools, mcpName: "echo", body: callBody("echo", ok), fast: true,
		headers: map[string]string{"Content-Type": "Application/JSON"}})
	// Without a Content-Length the body may be over the limit: the full
	// path's.
	add(diffCase{name: "chunked body", key: diffTools, mcpName: "echo", body: callBody("echo", ok), chunked: true})
	add(diffCase{name: "query string", key: diffTools, mcpName: "echo", body: callBody("echo", ok), query: "x=1"})
	add(diffCase{name: "the key twice", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		repeat: [][2]string{{"x-litellm-api-key", diffTools}}})
	add(diffCase{name: "the key twice, the second unknown", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		repeat: [][2]string{{"x-litellm-api-key", "sk-unknown-0123456789"}}})
	add(diffCase{name: "Mcp-Name twice", key: diffTools, mcpName: "echo", body: callBody("echo", ok),
		repeat: [][2]string{{"Mcp-Name", "shout"}}})
	// The aggregated endpoint /mcp: prefixed names.
	for _, p := range diffPairs {
		name := p.server + "-echo"
		add(diffCase{name: "/mcp: allowed " + p.key + " " + name, path: "/mcp", key: p.key, mcpName: name, body: callBody(name, ok), fast: true})
	}
	for _, c := range []struct {
		name, key, mcpName, tool string
		fast                     bool
		headers                  map[string]string
	}{
		{"/mcp: alpha-shout (not in its tool permissions)", diffTools, "alpha-shout", "alpha-shout", false, nil},
		{"/mcp: gamma-echo (not its server)", diffTools, "gamma-echo", "gamma-echo", false, nil},
		{"/mcp: beta-shout (disallowed_tools)", diffMaster, "beta-shout", "beta-shout", false, nil},
		{"/mcp: gamma-x-echo (server gamma, tool x-echo)", diffTeamed, "gamma-x-echo", "gamma-x-echo", true, nil},
		{"/mcp: alpha-echo-x (tool echo-x, not permitted)", diffTools, "alpha-echo-x", "alpha-echo-x", false, nil},
		{"/mcp: gamma-ping", diffMaster, "gamma-ping", "gamma-ping", true, nil},
		{"/mcp: an unknown prefix", diffMaster, "nosuch-echo", "nosuch-echo", false, nil},
		{"/mcp: no prefix", diffMaster, "echo", "echo", false, nil},
		{"/mcp: the prefix alone", diffMaster, "alpha-", "alpha-", false, nil},
		{"/mcp: the separator first", diffMaster, "-echo", "-echo", false, nil},
		{"/mcp: Mcp-Name another server's", diffMaster, "beta-echo", "alpha-echo", false, nil},
		{"/mcp: Mcp-Name without the prefix", diffMaster, "echo", "alpha-echo", false, nil},
		{"/mcp: x-mcp-servers", diffMaster, "alpha-echo", "alpha-echo", false, map[string]string{"x-mcp-servers": "alpha"}},
		{"/mcp: a tool no server has", diffMaster, "gamma-nosuch", "gamma-nosuch", true, nil},
	} {
		add(diffCase{name: c.name, path: "/mcp", key: c.key, mcpName: c.mcpName, body: callBody(c.tool, ok), fast: c.fast, headers: c.headers})
	}
	add(diffCase{name: "/mcp: allowed_params extra param", path: "/mcp", key: diffTools, mcpName: "alpha-echo", body: callBody("alpha-echo", `{"text":"x","loud":true}`)})
	add(diffCase{name: "/mcp: name after arguments, spaces", path: "/mcp", key: diffTools, mcpName: "alpha-echo", fast: true,
		body: `{ "jsonrpc" : "2.0", "id" : 9, "method" : "tools/call", "params" : { "arguments" : { "text" : "late <&>" } , ` + requestMeta + ` , "name" : "alpha-echo" } }`})
	add(diffCase{name: "/mcp: clientInfo named like a tool", path: "/mcp", key: diffTools, mcpName: "alpha-echo", fast: true,
		body: `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"beta-echo","version":"1"}},"name":"alpha-echo","arguments":{"text":"ci"}}}`})
	add(diffCase{name: "/mcp: the server's upstream answers HTML", path: "/mcp", key: diffTools, mcpName: "alpha-echo", body: callBody("alpha-echo", `{"text":"html"}`), fast: true})
	add(diffCase{name: "/mcp: name twice", path: "/mcp", key: diffMaster, mcpName: "alpha-echo",
		body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha-echo","name":"beta-echo","arguments":{"text":"x"}}}`})
	add(diffCase{name: "/mcp: escaped name", path: "/mcp", key: diffMaster, mcpName: "alpha-echo",
		body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"alpha-\u0065cho","arguments":{"text":"x"}}}`})
	// 2026-07-28 requests carry the protocol version and the client's
	// capabilities in params._meta (SEP-2575; go-sdk servers require it).
	for i := range cs {
		if !strings.Contains(cs[i].body, "_meta") {
			cs[i].body = strings.ReplaceAll(cs[i].body, `"params":{`, `"params":{`+requestMeta+`,`)
		}
	}
	// The same calls at 2025-11-25, as most clients today send them: with
	// the 2026-07-28 headers (which the full path would rewrite) they are
	// the full path's; without them the fast path's where the 2026-07-28
	// call is (sessionCases adds them with session ids).
	old := []diffCase{}
	for _, c := range cs {
		if c.version != "" || strings.HasPrefix(c.name, "Mcp-") || c.name == "no Mcp-Name" {
			continue
		}
		o := c
		o.name, o.version, o.fast = "2025-11-25 "+c.name, "2025-11-25", false
		o.body = strings.ReplaceAll(o.body, requestMeta+",", "")
		old = append(old, o)
		if c.fast {
			o.name, o.mcpName, o.method, o.fast = o.name+" without Mcp- headers", "", "-", true
			old = append(old, o)
		}
	}
	return append(cs, old...)
}

// diffSessions are 2025-11-25 client sessions opened on one of the two
// gateways, which seal with the same secret: by key, and by "caps:" and
// the key for a session whose client declared capabilities.
type diffSessions map[string]string

// openDiffSessions opens a session of every key with a grant, one with
// capabilities (elicitation) too, through g.
func openDiffSessions(t *testing.T, g diffGateway) diffSessions {
	t.Helper()
	s := diffSessions{}
	for _, k := range []string{diffTools, diffTeamed, diffGrouped, diffMaster} {
		s[k] = initSession(t, g.base+"/mcp", k)
		status, h, body := post(t, g.base+"/mcp", []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"caps","version":"1"}}}`),
			map[string]string{"x-litellm-api-key": k})
		if status != http.StatusOK || h.Get("Mcp-Session-Id") == "" {
			t.Fatalf("initialize with capabilities: %d %s", status, body)
		}
		s["caps:"+k] = h.Get("Mcp-Session-Id")
	}
	return s
}

// sessionCases are the corpus's 2025-11-25 calls without Mcp- headers
// that the fast path takes, again with the key's own session id (the
// fast path opens it as the full path does), and calls with ids that do
// not open for their key, or of clients that declared capabilities.
func sessionCases(corpus []diffCase, s diffSessions) []diffCase {
	var out []diffCase
	for _, c := range corpus {
		if c.version != "2025-11-25" || !c.fast {
			continue
		}
		id, ok := s[strings.TrimPrefix(c.key, "Bearer ")]
		if !ok {
			continue
		}
		o := c
		o.name += ", its session"
		o.headers = maps.Clone(c.headers)
		if o.headers == nil {
			o.headers = map[string]string{}
		}
		o.headers["Mcp-Session-Id"] = id
		out = append(out, o)
	}
	oldWith := func(name, path, key, session, tool, text string, fast bool) diffCase {
		return diffCase{name: "2025-11-25 session: " + name, path: path, key: key, version: "2025-11-25", method: "-", fast: fast,
			body: callBody(tool, `{"text":"`+text+`"}`), headers: map[string]string{"Mcp-Session-Id": session}}
	}
	old := func(name, path, key, session, tool string, fast bool) diffCase {
		return oldWith(name, path, key, session, tool, "s", fast)
	}
	garbled := []byte(s[diffTools])
	garbled[len(garbled)-5] ^= 1
	return append(out,
		old("another key's", "", diffTools, s[diffMaster], "echo", false),
		old("another key's, on /mcp", "/mcp", diffTools, s[diffMaster], "alpha-echo", false),
		old("a bit changed", "", diffTools, string(garbled), "echo", false),
		old("not the gateway's", "", diffTools, "session-1", "echo", false),
		old("capabilities, on the server's endpoint", "", diffTools, s["caps:"+diffTools], "echo", true),
		// On /mcp such a client's call has its event stream relayed
		// (the upstream's requests get ids signed for its session): by
		// Envoy's module as by the full path, byte for byte.
		old("capabilities, on /mcp", "/mcp", diffTools, s["caps:"+diffTools], "alpha-echo", true),
		old("capabilities, on /mcp, a tool error", "/mcp", diffMaster, s["caps:"+diffMaster], "gamma-nosuch", true),
		old("capabilities, on /mcp, a tool not granted", "/mcp", diffTools, s["caps:"+diffTools], "alpha-nosuch", false),
		oldWith("capabilities, on /mcp, the upstream asks", "/mcp", diffTools, s["caps:"+diffTools], "alpha-echo", "ask", true),
		oldWith("capabilities, on /mcp, the upstream asks, another key", "/mcp", diffMaster, s["caps:"+diffMaster], "beta-echo", "ask", true),
		oldWith("no capabilities, on /mcp, the upstream asks", "/mcp", diffTools, s[diffTools], "alpha-echo", "ask", true),
		oldWith("capabilities, the server's endpoint, the upstream asks", "", diffTools, s["caps:"+diffTools], "echo", "ask", true),
		old("refused tool", "", diffTools, s[diffTools], "shout", false),
	)
}

// outcome is what a client and the upstreams see of one request.
type outcome struct {
	Status   int
	Header   string   // the response's headers but for Date and timings
	Type     string   // the response's media type
	Messages []string // each JSON-RPC message answered, or the raw body
	Upstream []string // per upstream: handler runs, tools/call requests seen, their headers and bodies
}

func (o outcome) String() string {
	b, _ := json.MarshalIndent(o, "", "  ")
	return string(b)
}

// summarize reads a JSON-RPC message as its id and either its error's
// code and message or its result's content text.
func summarize(raw json.RawMessage) []string {
	var batch []json.RawMessage
	if json.Unmarshal(raw, &batch) == nil {
		var out []string
		for _, m := range batch {
			out = append(out, summarize(m)...)
		}
		sort.Strings(out)
		return out
	}
	var m struct {
		ID    json.RawMessage `json:"id"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Result *struct {
			IsError bool `json:"isError"`
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
			// A list's items (named by name, or by uriTemplate).
			Tools, Prompts, Resources, ResourceTemplates []struct {
				Name string `json:"name"`
			}
			NextCursor string `json:"nextCursor"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return []string{"raw: " + string(raw)}
	}
	switch {
	case m.Error != nil:
		return []string{fmt.Sprintf("id=%s error %d %s", m.ID, m.Error.Code, m.Error.Message)}
	case m.Result != nil:
		var texts []string
		for _, c := range m.Result.Content {
			texts = append(texts, c.Text)
		}
		r := m.Result
		for kind, items := range map[string][]struct {
			Name string `json:"name"`
		}{"tools": r.Tools, "prompts": r.Prompts, "resources": r.Resources, "templates": r.ResourceTemplates} {
			for _, it := range items {
				texts = append(texts, kind+":"+it.Name)
			}
		}
		if r.NextCursor != "" {
			texts = append(texts, "nextCursor:"+r.NextCursor)
		}
		sort.Strings(texts)
		return []string{fmt.Sprintf("id=%s result isError=%v %q", m.ID, m.Result.IsError, texts)}
	}
	return []string{"other: " + string(raw)}
}

func readMessages(mediaType string, body []byte) []string {
	if mediaType == "text/event-stream" {
		var out []string
		for _, line := range strings.Split(string(body), "\n") {
			if d, ok := strings.CutPrefix(line, "data:"); ok && strings.TrimSpace(d) != "" {
				out = append(out, summarize(json.RawMessage(strings.TrimSpace(d)))...)
			}
		}
		return out
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return summarize(body)
}

// headerView is the headers an upstream saw, all of them, with two
// values made alike: X-Request-Id (Envoy makes a fresh one for every
// request; that there is one is compared) and X-Envoy-Original-Host's
// port (each gateway's own listener); a Content-Length that is the
// body's length is shown as such (bodyView: the full path re-encodes).
func headerView(h http.Header, bodyLen int) string {
	var names []string
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		v := h.Values(k)
		if k == "Mcp-Session-Id" && len(v) == 1 && strings.HasPrefix(v[0], "mcpgw1_") {
			v = []string{"<issued>"} // a new session's id: each is its own
		}
		if k == "X-Request-Id" {
			v = []string{fmt.Sprintf("<%d fresh>", len(v))}
		}
		if k == "Content-Length" && len(v) == 1 && v[0] == strconv.Itoa(bodyLen) {
			v = []string{"<the body's>"}
		}
		if k == "X-Envoy-Original-Host" {
			// The gateway's own address: each of the two has its port.
			v = slices.Clone(v)
			for i := range v {
				if host, _, ok := strings.Cut(v[i], ":"); ok {
					v[i] = host + ":<gateway port>"
				}
			}
		}
		fmt.Fprintf(&b, "%s=%q ", k, v)
	}
	return b.String()
}

// bodyView is an upstream request's body with the members of the
// message and of its params in name order and without spaces between
// tokens: the full path re-encodes those two levels (and compacts what is
// in them), the fast path sends the client's bytes. Duplicate names and
// the order of members below params are kept: there the two must agree
// byte for byte (but for spaces).
func bodyView(b []byte) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return "raw: " + string(b)
	}
	if p, ok := top["params"]; ok {
		var params map[string]json.RawMessage
		if json.Unmarshal(p, &params) == nil {
			top["params"], _ = json.Marshal(params)
		}
	}
	out, err := json.Marshal(top) // sorted names; RawMessage values compacted
	if err != nil {
		return "raw: " + string(b)
	}
	return string(out)
}

// diffGateway is one of the two gateways under comparison.
type diffGateway struct {
	name string
	base string // http://host:port
	log  string // its access log
}

func (g diffGateway) send(t *testing.T, c diffCase, ua string, ups []*diffUpstream) outcome {
	t.Helper()
	alias := c.alias
	if alias == "" {
		alias = "alpha"
	}
	url := g.base + "/" + alias + "/mcp"
	if c.path != "" {
		url = g.base + c.path
	}
	if c.query != "" {
		url += "?" + c.query
	}
	var reqBody io.Reader = strings.NewReader(c.body)
	if c.chunked {
		reqBody = io.MultiReader(reqBody) // a length the client cannot know
	}
	req, _ := http.NewRequest(http.MethodPost, url, reqBody)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("User-Agent", ua)
	version := c.version
	if version == "" {
		version = "2026-07-28"
	}
	req.Header.Set("MCP-Protocol-Version", version)
	switch {
	case c.method == "-":
	case c.method != "":
		req.Header.Set("Mcp-Method", c.method)
	default:
		req.Header.Set("Mcp-Method", "tools/call")
	}
	if c.mcpName != "" {
		req.Header.Set("Mcp-Name", c.mcpName)
	}
	if c.key != "" {
		req.Header.Set("x-litellm-api-key", c.key)
	}
	for k, v := range c.headers {
		if v == "<none>" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	for _, kv := range c.repeat {
		req.Header.Add(kv[0], kv[1])
	}
	type mark struct {
		calls int64
		seen  int
	}
	before := make([]mark, len(ups))
	for i, u := range ups {
		before[i].calls, before[i].seen = u.snapshot()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s through %s: %v", c.name, g.name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mt, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	rh := resp.Header.Clone()
	// The time, and how long the upstream took.
	rh.Del("Date")
	if rh.Get("X-Envoy-Upstream-Service-Time") != "" {
		rh.Set("X-Envoy-Upstream-Service-Time", "<present>") // not its value
	}
	o := outcome{Status: resp.StatusCode, Header: headerView(rh, len(body)), Type: strings.TrimSpace(mt)}
	o.Messages = readMessages(o.Type, body)
	for i, u := range ups {
		calls, _ := u.snapshot()
		line := fmt.Sprintf("%s: %d runs", u.name, calls-before[i].calls)
		for _, s := range u.since(before[i].seen) {
			line += fmt.Sprintf("; request headers %s body %s", headerView(s.header, len(s.body)), bodyView(s.body))
		}
		o.Upstream = append(o.Upstream, line)
	}
	return o
}

// accessLine is the access-log entry of the request sent with user agent
// ua, waiting for the log to be written (every 200 ms).
func (g diffGateway) accessLine(t *testing.T, ua string) map[string]any {
	t.Helper()
	var found map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for found == nil {
		data, _ := os.ReadFile(g.log)
		for _, line := range strings.Split(string(data), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["user_agent"] == ua {
				found = m
			}
		}
		if found == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no access log entry for %s", g.name, ua)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return found
}

// accessView is what the access log says of a request but for what
// differs between any two requests (times, the request id) and
// decided_by; the sidecar's address is each gateway's own, and the
// details of the fast path's 502 reply are the full path's.
func accessView(m map[string]any) string {
	var names []string
	for k := range m {
		switch k {
		case "start_time", "duration_ms", "request_id", "decided_by":
			continue
		}
		names = append(names, k)
	}
	// A reply the Lua filter made of an upstream answer no client can
	// read (fastpath.lua's envoy_on_response) keeps Envoy's details: a
	// Lua filter cannot set them. The full path's says mcpgw_reply.
	if m["decided_by"] == "envoy" && fmt.Sprint(m["status"]) == "502" && m["details"] == "via_upstream" {
		m["details"] = "mcpgw_reply"
	}
	// A direct list's refusal is the sidecar's answer, written as the
	// full path's reply: Envoy's details and upstream differ.
	if m["decided_by"] == "sidecar" && m["jsonrpc_error"] != nil && m["details"] == "via_upstream" {
		m["details"] = "mcpgw_reply"
	}
	// Whether a reply's entry names the sidecar depends on when it was
	// given (after the headers phase Envoy has picked a route).
	if m["details"] == "mcpgw_reply" {
		m["upstream_cluster"], m["upstream_host"] = "<a reply's>", "<a reply's>"
	}
	// Envoy's 413 for a body over the limit: how much of the body it read
	// first, and whether it had picked a cluster, vary from run to run
	// (without the fast path too).
	if m["details"] == "request_payload_too_large" {
		m["bytes_received"], m["upstream_cluster"], m["upstream_host"] = "<some>", "<any>", "<any>"
	}
	if m["upstream_cluster"] == "mcpgw_sidecar" {
		m["upstream_host"] = "<each gateway's own sidecar>"
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s=%v ", k, m[k])
	}
	return b.String()
}

// fastLines counts the entries Envoy decided in g's access log.
func (g diffGateway) fastLines() int {
	data, _ := os.ReadFile(g.log)
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["decided_by"] == "envoy" {
			n++
		}
	}
	return n
}

// startDiffPair starts the fast and the full gateway on the same
// upstreams and config (policyDir: access.policy_dir, or "").
func startDiffPair(t *testing.T, ups []*diffUpstream, policyDir string) (fast, full diffGateway) {
	t.Helper()
	extra := ""
	if policyDir != "" {
		extra = fmt.Sprintf("  policy_dir: %q\n", policyDir)
	}
	dir := t.TempDir()
	start := func(name string, on bool) diffGateway {
		log := filepath.Join(dir, name+".log")
		cfg := fmt.Sprintf(fastPathDiffConfig, ups[0].URL, ups[1].URL, ups[2].URL, ups[3].URL, extra, on)
		inst, _ := startGateway(t, cfg, gateway.Options{Port: mustFreePort(t), AccessLog: log})
		return diffGateway{name: name, base: strings.TrimSuffix(inst.Endpoint, "/mcp"), log: log}
	}
	return start("fast", true), start("full", false)
}

// warmUp sends each (key, server) pair's first call through both
// gateways; with wantFast, it waits until the fast gateway decides a
// call of every pair in Envoy.
func warmUp(t *testing.T, fast, full diffGateway, ups []*diffUpstream, wantFast bool) {
	t.Helper()
	for i, p := range diffPairs {
		// Each version the fast path takes is learned on its own.
		old := diffCase{name: "warm-up", alias: p.server, key: p.key, body: callBody("echo", `{"text":"warm"}`), version: "2025-11-25", method: "-"}
		for _, g := range []diffGateway{fast, full} {
			ua := fmt.Sprintf("fpdiff-warm-old-%d-%s", i, g.name)
			if o := g.send(t, old, ua, ups); o.Status != http.StatusOK || len(o.Messages) != 1 || !strings.Contains(o.Messages[0], ":echo:warm") {
				t.Fatalf("2025-11-25 warm-up %s on %s through %s: %s", p.key, p.server, g.name, o)
			}
		}
		c := diffCase{name: "warm-up", alias: p.server, key: p.key, body: metaCallBody("echo", `{"text":"warm"}`), mcpName: "echo"}
		for _, g := range []diffGateway{fast, full} {
			ua := fmt.Sprintf("fpdiff-warm-%d-%s", i, g.name)
			if o := g.send(t, c, ua, ups); o.Status != http.StatusOK || len(o.Messages) != 1 || !strings.Contains(o.Messages[0], ":echo:warm") {
				t.Fatalf("warm-up %s on %s through %s: %s", p.key, p.server, g.name, o)
			}
		}
		if !wantFast {
			continue
		}
		if i == 0 {
			// A call with the expiring key, long before the corpus's.
			c := diffCase{name: "warm-up", key: diffExpiring, body: metaCallBody("echo", `{"text":"warm"}`), mcpName: "echo"}
			for _, g := range []diffGateway{fast, full} {
				if o := g.send(t, c, "fpdiff-warm-expiring-"+g.name, ups); o.Status != http.StatusOK {
					t.Fatalf("warm-up with the expiring key through %s: %s", g.name, o)
				}
			}
		}
		n := 0
		for _, c := range []diffCase{c, old} {
			waitFor(t, fmt.Sprintf("the fast path to take %s on %s at %s", p.key, p.server, c.version), func() bool {
				n++
				ua := fmt.Sprintf("fpdiff-warm-%d-poll-%d", i, n)
				if o := fast.send(t, c, ua, ups); o.Status != http.StatusOK {
					t.Fatalf("warm-up poll: %s", o)
				}
				return fast.accessLine(t, ua)["decided_by"] == "envoy"
			})
		}
	}
}

// runDiffCorpus sends the corpus through both gateways, compares, and
// checks which calls the fast gateway decided in Envoy (none when
// !fastOn).
func runDiffCorpus(t *testing.T, tag string, fast, full diffGateway, ups []*diffUpstream, corpus []diffCase, fastOn bool) {
	t.Helper()
	for i, c := range corpus {
		ua := fmt.Sprintf("fpdiff-%s-%d", tag, i)
		of := fast.send(t, c, ua, ups)
		off := full.send(t, c, ua, ups)
		if of.String() != off.String() {
			t.Errorf("%s: the paths differ\nfast path on:  %s\nfast path off: %s", c.name, of, off)
		}
		if testing.Verbose() {
			t.Logf("%s: %d %v", c.name, of.Status, of.Messages)
		}
	}
	for i, c := range corpus {
		ua := fmt.Sprintf("fpdiff-%s-%d", tag, i)
		lf, lo := fast.accessLine(t, ua), full.accessLine(t, ua)
		if a, b := accessView(lf), accessView(lo); a != b {
			t.Errorf("%s: the access logs differ\nfast path on:  %s\nfast path off: %s", c.name, a, b)
		}
		// Direct lists do not depend on the grants: the sidecar runs
		// the full decision whatever the policy.
		want := ""
		switch {
		case c.fast && fastOn:
			want = "envoy"
		case c.direct:
			want = "sidecar"
		}
		if got, _ := lf["decided_by"].(string); got != want {
			t.Errorf("%s: decided_by %q, want %q", c.name, got, want)
		}
		if full.accessLine(t, ua)["decided_by"] != nil {
			t.Errorf("%s: the gateway with fast_path: false has an entry decided by Envoy", c.name)
		}
	}
}

// TestFastPathDiff: the differential test of the fast path. Compared,
// request by request: the status, the response's headers (but Date and
// X-Envoy-Upstream-Service-Time's value: whether it is there is) and media type, each JSON-RPC message
// (id, error code and message, or result content text), the tool runs
// and the tools/call requests each upstream got (all their headers, but
// X-Request-Id's value and the gateway's port in X-Envoy-Original-Host;
// the body but for the order of and spaces between the members of the
// message and of params, which the full path re-encodes), and the access
// log entry (but times, the request id and what bodyView and accessView
// say). Then: the allowed calls were decided by Envoy, nothing else was.
func TestFastPathDiff(t *testing.T) {
	ups := []*diffUpstream{
		startDiffUpstream(t, "alpha", "echo", "shout"),
		startDiffUpstream(t, "beta", "echo", "shout"),
		startDiffUpstream(t, "gamma", "echo", "ping", "any"),
		startDiffUpstream(t, "delta", "echo"), // stopped at the end
	}
	corpus := diffCorpus()

	// A custom rule can read anything: the fast gateway hands Envoy no
	// grant and decides nothing itself, with the same answers.
	t.Run("custom rule", func(t *testing.T) {
		dir := t.TempDir()
		rule := "package mcpgw.custom\n\ndeny contains \"no shouting\" if input.tool.name == \"shout\"\n"
		if err := os.WriteFile(filepath.Join(dir, "shout.rego"), []byte(rule), 0o600); err != nil {
			t.Fatal(err)
		}
		fast, full := startDiffPair(t, ups, dir)
		warmUp(t, fast, full, ups, false)
		corpus := append(slices.Clone(corpus), sessionCases(corpus, openDiffSessions(t, full))...)
		// Long enough for a learned pair's grant to reach Envoy, had one
		// been handed over.
		time.Sleep(500 * time.Millisecond)
		for _, p := range diffPairs {
			c := diffCase{name: "after warm-up", alias: p.server, key: p.key, body: metaCallBody("echo", `{"text":"again"}`), mcpName: "echo"}
			fast.send(t, c, "fpdiff-custom-again", ups)
		}
		runDiffCorpus(t, "custom", fast, full, ups, corpus, false)
		// The rule is in force (on both: the corpus matched).
		shout := diffCase{name: "shout", key: diffMaster, body: metaCallBody("shout", `{"text":"x"}`), mcpName: "shout"}
		if o := fast.send(t, shout, "fpdiff-custom-shout", ups); o.Status != http.StatusForbidden || len(o.Messages) != 1 || !strings.Contains(o.Messages[0], "denied by policy") {
			t.Errorf("shout with the custom rule: %s, want 403 denied by policy", o)
		}
		fast.accessLine(t, "fpdiff-custom-again")
		if n := fast.fastLines(); n != 0 {
			t.Errorf("with a custom rule, the fast gateway decided %d calls in Envoy, want none", n)
		}
	})

	t.Run("shipped policy", func(t *testing.T) {
		fast, full := startDiffPair(t, ups, "")
		warmUp(t, fast, full, ups, true)
		sessions := openDiffSessions(t, full)
		runDiffCorpus(t, "shipped", fast, full, ups, append(slices.Clone(corpus), sessionCases(corpus, sessions)...), true)
		// Last, the upstream of a learned pair goes down.
		ups[3].stop()
		down := []diffCase{
			{name: "upstream down", alias: "delta", key: diffMaster, body: metaCallBody("echo", `{"text":"down"}`), mcpName: "echo", fast: true},
			{name: "/mcp: upstream down", path: "/mcp", key: diffMaster, body: metaCallBody("delta-echo", `{"text":"down"}`), mcpName: "delta-echo", fast: true},
			{name: "upstream down, string id", alias: "delta", key: diffMaster, mcpName: "echo", fast: true,
				body: strings.Replace(metaCallBody("echo", `{"text":"down"}`), `"id":1`, `"id":"d-1"`, 1)},
			{name: "upstream down, 2025-11-25", alias: "delta", key: diffMaster, version: "2025-11-25", method: "-", fast: true,
				body: callBody("echo", `{"text":"down"}`)},
			// A session that has called the upstream before (a new one
			// would first be opened upstream by the full path: see the
			// fast path's documented differences).
			{name: "upstream down, 2025-11-25, a session", alias: "delta", key: diffMaster, version: "2025-11-25", method: "-", fast: true,
				body: callBody("echo", `{"text":"down"}`), headers: map[string]string{"Mcp-Session-Id": sessions[diffMaster]}},
		}
		runDiffCorpus(t, "down", fast, full, ups, down, true)
	})

	t.Run("key deleted, blocked or narrowed", func(t *testing.T) {
		for _, how := range []string{"delete", "block", "narrow"} {
			t.Run(how, func(t *testing.T) { fastPathKeyRevoked(t, ups[0], how) })
		}
	})
}

const fastPathStoreConfig = `general_settings:
  master_key: ` + cpMaster + `
mcp_servers:
  alpha:
    url: %q
gateway:
  fast_path: true
`

// fastPathKeyRevoked: a key from the admin API whose calls Envoy
// decides is refused soon after it is deleted or blocked (401), or its
// tool permissions no longer name the tool (403).
func fastPathKeyRevoked(t *testing.T, up *diffUpstream, how string) {
	log := filepath.Join(t.TempDir(), "access.log")
	inst, _ := cpGateway(t, fmt.Sprintf(fastPathStoreConfig, up.URL), "sqlite:"+filepath.Join(t.TempDir(), "mcpgw.db"),
		gateway.Options{AccessLog: log})
	g := diffGateway{name: "store", base: strings.TrimSuffix(inst.Endpoint, "/mcp"), log: log}
	gen := mustAdmin(t, inst, "POST", "/key/generate", map[string]any{"key_alias": "fast-" + how,
		"object_permission": map[string]any{"mcp_servers": []string{"alpha"}, "mcp_tool_permissions": map[string]any{"alpha": []string{"echo"}}}},
		http.StatusOK)
	key, _ := gen["key"].(string)
	if key == "" {
		t.Fatalf("no key in %v", gen)
	}
	c := diffCase{name: how, key: key, body: metaCallBody("echo", `{"text":"k"}`), mcpName: "echo"}
	ups := []*diffUpstream{up}
	n := 0
	waitFor(t, "the fast path to take the stored key's call", func() bool {
		n++
		ua := fmt.Sprintf("fpdiff-key-%d", n)
		if o := g.send(t, c, ua, ups); o.Status != http.StatusOK {
			t.Fatalf("call with the stored key: %s", o)
		}
		return g.accessLine(t, ua)["decided_by"] == "envoy"
	})
	want := http.StatusUnauthorized
	switch how {
	case "delete":
		mustAdmin(t, inst, "POST", "/key/delete", map[string]any{"keys": []string{key}}, http.StatusOK)
	case "block":
		mustAdmin(t, inst, "POST", "/key/update", map[string]any{"key": key, "blocked": true}, http.StatusOK)
	case "narrow":
		// Its tool permissions no longer name echo: refused (403).
		mustAdmin(t, inst, "POST", "/key/update", map[string]any{"key": key, "object_permission": map[string]any{
			"mcp_servers": []string{"alpha"}, "mcp_tool_permissions": map[string]any{"alpha": []string{"shout"}}}}, http.StatusOK)
		want = http.StatusForbidden
	}
	// The route table without the key's grant follows the store write;
	// a generous bound, not a timing assertion.
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := g.send(t, c, "fpdiff-key-after", ups)
		if o.Status == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a key still gets %s after %s", o, how)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// And stays refused, by the full path.
	for i := range 5 {
		ua := fmt.Sprintf("fpdiff-key-after-%d", i)
		if o := g.send(t, c, ua, ups); o.Status != want {
			t.Fatalf("a key got %s after a 401 (%s)", o, how)
		}
		if g.accessLine(t, ua)["decided_by"] != nil {
			t.Fatalf("a key's call was decided by Envoy after %s", how)
		}
	}
}

const fastPathMovedConfig = `general_settings:
  master_key: ` + cpMaster + `
gateway:
  fast_path: true
`

// TestFastPathServerMoved: what Envoy's fast path learned of a server is
// forgotten when the server's connection changes. A 2025-11-25 key's calls
// to a server whose upstream keeps no sessions are decided by Envoy; the
// server is then pointed (admin API) at an upstream that keeps sessions,
// which a session-less call would not reach: the calls go on through
// ext_proc, which opens a session there, and none is decided by Envoy.
func TestFastPathServerMoved(t *testing.T) {
	stateless := startUpstream(t, "before", true, "echo")
	stateful := startUpstream(t, "after", false, "echo")
	log := filepath.Join(t.TempDir(), "access.log")
	inst, _ := cpGateway(t, fastPathMovedConfig, "sqlite:"+filepath.Join(t.TempDir(), "mcpgw.db"), gateway.Options{AccessLog: log})
	g := diffGateway{name: "moved", base: strings.TrimSuffix(inst.Endpoint, "/mcp"), log: log}
	created := mustAdmin(t, inst, "POST", "/v1/mcp/server", map[string]any{"server_name": "moving", "url": stateless.URL, "transport": "http"}, http.StatusCreated)
	serverID, _ := created["server_id"].(string)
	gen := mustAdmin(t, inst, "POST", "/key/generate", map[string]any{"key_alias": "mover",
		"object_permission": map[string]any{"mcp_servers": []string{"moving"}}}, http.StatusOK)
	key, _ := gen["key"].(string)
	if serverID == "" || key == "" {
		t.Fatalf("server %v, key %v", created, gen)
	}
	c := diffCase{name: "moved", alias: "moving", key: key, version: "2025-11-25", method: "-", body: callBody("echo", `{"text":"m"}`)}
	n := 0
	send := func(want string) map[string]any {
		n++
		ua := fmt.Sprintf("fpmoved-%d", n)
		o := g.send(t, c, ua, nil)
		if o.Status != http.StatusOK || len(o.Messages) != 1 || !strings.Contains(o.Messages[0], want+":echo:m") {
			t.Fatalf("call %d: %s, want %s's echo", n, o, want)
		}
		return g.accessLine(t, ua)
	}
	waitFor(t, "the fast path to take the key's calls", func() bool { return send("before")["decided_by"] == "envoy" })

	mustAdmin(t, inst, "PUT", "/v1/mcp/server", map[string]any{"server_id": serverID, "url": stateful.URL}, http.StatusAccepted)
	waitFor(t, "the server to move", func() bool {
		n++
		ua := fmt.Sprintf("fpmoved-%d", n)
		o := g.send(t, c, ua, nil)
		return o.Status == http.StatusOK && len(o.Messages) == 1 && strings.Contains(o.Messages[0], "after:echo:m")
	})
	for range 20 {
		if l := send("after"); l["decided_by"] != nil {
			t.Fatalf("a call to the moved server was decided by %v", l["decided_by"])
		}
	}
}
