package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The differential test of direct lists (docs/architecture.md, "Direct
// lists"): the fast gateway sends list requests straight to the sidecar,
// which decides them with the router itself; the full gateway asks
// ext_proc. Both must answer every request of the corpus alike (status,
// headers, each JSON-RPC message with the names it lists), with the same
// access log entry, and the fast one must have sent exactly the plain
// list requests to the sidecar directly (decided_by "sidecar").

// listBody is a list request; params "" means none.
func listBody(method, id, params string) string {
	if params == "" {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q}`, id, method)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`, id, method, params)
}

// directListCorpus is the list corpus at 2025-11-25 (no Mcp-Method) and
// at 2026-07-28 (Mcp-Method and params._meta, as clients send them).
// session is a live session of diffTools's, valid on both gateways.
func directListCorpus(session string) []diffCase {
	var cs []diffCase
	add := func(c diffCase) { cs = append(cs, c) }
	methods := []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list"}
	// Every key on every endpoint.
	keys := []struct{ name, key string }{
		{"master", diffMaster}, {"tools", diffTools}, {"teamed", diffTeamed}, {"grouped", diffGrouped},
		{"blocked", diffBlocked}, {"expiring", diffExpiring}, {"unknown", "sk-unknown-0123456789"}, {"no key", ""},
	}
	paths := []string{"/mcp", "/mcp/alpha,beta", "/mcp/grp", "/alpha/mcp", "/gamma/mcp", "/mcp/nosuch", "/nosuch/mcp", "/elsewhere", "/mcp/"}
	for _, k := range keys {
		for _, p := range paths {
			add(diffCase{name: fmt.Sprintf("%s on %s", k.name, p), path: p, key: k.key, body: listBody("tools/list", "1", ""), direct: true})
		}
	}
	for _, m := range methods[1:] {
		add(diffCase{name: "tools key: " + m, path: "/mcp", key: diffTools, body: listBody(m, "1", ""), direct: true})
		add(diffCase{name: "master: " + m + " on alpha", path: "/alpha/mcp", key: diffMaster, body: listBody(m, "1", ""), direct: true})
	}
	plain := func(name, body string, direct bool, hs map[string]string) {
		add(diffCase{name: name, path: "/mcp", key: diffTools, body: body, direct: direct, headers: hs})
	}
	// Ids, params and cursors.
	plain("string id", listBody("tools/list", `"l-1"`, ""), true, nil)
	plain("empty params", listBody("tools/list", "2", "{}"), true, nil)
	plain("a cursor that is not the gateway's", listBody("tools/list", "3", `{"cursor":"nope"}`), true, nil)
	plain("cursor null", listBody("tools/list", "3", `{"cursor":null}`), true, nil)
	plain("cursor a number", listBody("tools/list", "3", `{"cursor":7}`), true, nil)
	plain("params null", listBody("tools/list", "4", "null"), false, nil)
	plain("params an array", listBody("tools/list", "4", "[]"), false, nil)
	plain("id null", listBody("tools/list", "null", ""), false, nil)
	plain("id a fraction", listBody("tools/list", "1.5", ""), false, nil)
	plain("no id (a notification)", `{"jsonrpc":"2.0","method":"tools/list"}`, false, nil)
	plain("jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`, false, nil)
	plain("method twice", `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"echo"}}`, false, nil)
	plain("Method beside method", `{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call"}`, false, nil)
	// Envoy's filter reads a list with the full path's parser
	// (rpc.Parse): an escaped method is a list; repeated params members
	// are refused there, so such a list is ext_proc's to refuse.
	plain("escaped method", `{"jsonrpc":"2.0","id":1,"method":"tools\/list"}`, true, nil)
	plain("result member", `{"jsonrpc":"2.0","id":1,"method":"tools/list","result":{}}`, false, nil)
	plain("a batch of lists", `[`+listBody("tools/list", "1", "")+`,`+listBody("prompts/list", "2", "")+`]`, false, nil)
	plain("bad JSON", `{"jsonrpc":"2.0","id":1,"method":"tools/list"`, false, nil)
	plain("trailing garbage", listBody("tools/list", "1", "")+" x", false, nil)
	plain("unknown params member", listBody("tools/list", "5", `{"other":{"deep":[1,2]}}`), true, nil)
	plain("params name duplicated", listBody("tools/list", "5", `{"cursor":"a","cursor":"b"}`), false, nil)
	plain("initialize mentioning /list", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x/list","version":"1"}}}`, false, nil)
	// Headers.
	plain("Origin not allowed", listBody("tools/list", "1", ""), true, map[string]string{"Origin": "http://evil.example"})
	plain("Origin on loopback", listBody("tools/list", "1", ""), true, map[string]string{"Origin": "http://localhost:3000"})
	plain("x-mcp-servers alpha", listBody("tools/list", "1", ""), true, map[string]string{"x-mcp-servers": "alpha"})
	plain("x-mcp-servers empty", listBody("tools/list", "1", ""), true, map[string]string{"x-mcp-servers": ""})
	plain("x-mcp-servers unknown", listBody("tools/list", "1", ""), true, map[string]string{"x-mcp-servers": "nosuch"})
	plain("x-mcp-access-groups grp", listBody("tools/list", "1", ""), true, map[string]string{"x-mcp-access-groups": "grp"})
	plain("key in authorization", listBody("tools/list", "1", ""), true, map[string]string{"authorization": "Bearer " + diffTools})
	plain("content-type text/plain", listBody("tools/list", "1", ""), true, map[string]string{"Content-Type": "text/plain"})
	plain("accept JSON only", listBody("tools/list", "1", ""), true, map[string]string{"Accept": "application/json"})
	plain("accept missing", listBody("tools/list", "1", ""), true, map[string]string{"Accept": "<none>"})
	plain("session of its key", listBody("tools/list", "1", ""), true, map[string]string{"Mcp-Session-Id": session})
	plain("a forged session", listBody("tools/list", "1", ""), true, map[string]string{"Mcp-Session-Id": "mcpgw1_forged"})
	plain("the client's x-mcpgw-direct-list", listBody("tools/list", "1", ""), true, map[string]string{"x-mcpgw-direct-list": "guess"})
	plain("x-mcp-cluster forged", listBody("tools/list", "1", ""), false, map[string]string{"x-mcp-cluster": "mcpgw_sidecar"})
	plain("log headers forged", listBody("tools/list", "1", ""), true, map[string]string{"x-mcpgw-log-key-alias": "someone"})
	add(diffCase{name: "session of another key", path: "/mcp", key: diffMaster, body: listBody("tools/list", "1", ""), direct: true,
		headers: map[string]string{"Mcp-Session-Id": session}})
	add(diffCase{name: "the key twice", path: "/mcp", key: diffTools, body: listBody("tools/list", "1", ""), direct: true,
		repeat: [][2]string{{"x-litellm-api-key", diffMaster}}})
	add(diffCase{name: "query string", path: "/mcp", query: "x=1", key: diffTools, body: listBody("tools/list", "1", ""), direct: true})
	add(diffCase{name: "chunked", path: "/mcp", key: diffTools, body: listBody("tools/list", "1", ""), chunked: true})
	add(diffCase{name: "a list body of 5 KB", path: "/mcp", key: diffTools, body: listBody("tools/list", "1", `{"pad":"`+strings.Repeat("p", 5000)+`"}`)})

	// At 2026-07-28: Mcp-Method says the method, params carry _meta.
	var out []diffCase
	for _, c := range cs {
		o := c
		o.name, o.version, o.method = "2025-11-25 "+c.name, "2025-11-25", "-"
		out = append(out, o)
		n := c
		n.name = "2026-07-28 " + c.name
		n.method = "tools/list"
		for _, m := range methods {
			if strings.Contains(c.body, `"`+m+`"`) {
				n.method = m
			}
		}
		switch {
		case strings.Contains(n.body, `"params":{}`):
			n.body = strings.Replace(n.body, `"params":{}`, `"params":{`+requestMeta+`}`, 1)
		case strings.Contains(n.body, `"params":{`):
			n.body = strings.Replace(n.body, `"params":{`, `"params":{`+requestMeta+`,`, 1)
		case strings.HasSuffix(n.body, `/list"}`):
			n.body = strings.TrimSuffix(n.body, "}") + `,"params":{` + requestMeta + `}}`
		}
		out = append(out, n)
	}
	// Mcp-Method that disagrees with the body, or is no list method.
	out = append(out,
		diffCase{name: "2026-07-28 Mcp-Method prompts/list, body tools/list", path: "/mcp", key: diffTools, method: "prompts/list", direct: true,
			body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + requestMeta + `}}`},
		diffCase{name: "2026-07-28 Mcp-Method tools/list, body tools/call", path: "/mcp", key: diffTools, method: "tools/list",
			body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + requestMeta + `,"name":"alpha-echo","arguments":{"text":"x"}}}`},
		diffCase{name: "2026-07-28 Mcp-Method initialize, body tools/list", path: "/mcp", key: diffTools, method: "initialize",
			body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + requestMeta + `}}`},
		diffCase{name: "2026-07-28 Mcp-Method TOOLS/LIST", path: "/mcp", key: diffTools, method: "TOOLS/LIST",
			body: `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{` + requestMeta + `}}`},
		diffCase{name: "unknown protocol version", path: "/mcp", key: diffTools, version: "2099-01-01", method: "-", direct: true,
			body: listBody("tools/list", "1", "")},
	)
	return out
}

// TestDirectListDiff: the differential test of direct lists (see above),
// with the shipped policy and with a custom rule (direct lists do not
// depend on the policy: the sidecar runs the full decision).
func TestDirectListDiff(t *testing.T) {
	ups := []*diffUpstream{
		startDiffUpstream(t, "alpha", "echo", "shout"),
		startDiffUpstream(t, "beta", "echo", "shout"),
		startDiffUpstream(t, "gamma", "echo", "ping", "any"),
		startDiffUpstream(t, "delta", "echo"),
	}
	fast, full := startDiffPair(t, ups, "")
	// A session of diffTools's; both gateways seal with the same secret.
	session := initSession(t, full.base+"/mcp", diffTools)
	corpus := directListCorpus(session)
	// Every tool of every server is discovered before the lists are
	// compared (both list the master key every tool).
	for _, g := range []diffGateway{fast, full} {
		waitFor(t, g.name+" to list every server's tools", func() bool {
			o := g.send(t, diffCase{path: "/mcp", key: diffMaster, version: "2025-11-25", method: "-", body: listBody("tools/list", "1", "")}, "dl-warm-"+g.name, ups)
			return o.Status == http.StatusOK && len(o.Messages) == 1 && strings.Count(o.Messages[0], "-echo") == 4
		})
	}
	runDiffCorpus(t, "lists", fast, full, ups, corpus, true)
}

// initSession opens a 2025-11-25 session on endpoint with key.
func initSession(t *testing.T, endpoint, key string) string {
	t.Helper()
	status, h, body := post(t, endpoint, []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"dl","version":"1"}}}`),
		map[string]string{"x-litellm-api-key": key})
	id := h.Get("Mcp-Session-Id")
	if status != http.StatusOK || id == "" {
		t.Fatalf("initialize: HTTP %d, session %q: %.200s", status, id, body)
	}
	return id
}
