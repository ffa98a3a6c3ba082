package router

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/mcpgw/mcpgw/extproc/relay"
)

// testIDs signs relayed ids with a key the test router does not have.
var testIDs = relay.NewIDs([][]byte{[]byte("test key")})

// The client's answer to a relayed request goes to the upstream that
// asked, with the upstream's own id, on prefixed scopes; an answer with
// any other id stays with the sidecar, as before.
func TestAnswersAreRoutedByRelayedID(t *testing.T) {
	r := testRouter(t)
	answer := func(id json.RawMessage) []byte {
		return []byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"action":"accept","content":{"name":"x"}}}`)
	}
	enc := func(alias string) json.RawMessage { return r.relayIDs.Encode("s1", alias, json.RawMessage(`1`)) }
	relayed := enc("demo")
	for _, tc := range []struct {
		name, path string
		id         json.RawMessage
		wantAlias  string // "" when the sidecar keeps it
	}{
		{"aggregate", "/mcp", relayed, "demo"},
		{"server list", "/mcp/demo,my_wiki", relayed, "demo"},
		{"out of scope", "/mcp/my_wiki", relayed, ""},
		{"plain id on the aggregate", "/mcp", json.RawMessage(`1`), ""},
		{"unroutable upstream", "/mcp", enc("local"), ""},
		{"unknown alias", "/mcp", enc("nope"), ""},
		{"made for another session", "/mcp", r.relayIDs.Encode("s2", "demo", json.RawMessage(`1`)), ""},
		{"forged", "/mcp", testIDs.Encode("s1", "demo", json.RawMessage(`1`)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := r.decideBody(Headers{":method": "POST", ":path": tc.path, "mcp-session-id": "s1"}, answer(tc.id))
			if d.Reply != nil {
				t.Fatalf("reply %+v", d.Reply)
			}
			if tc.wantAlias == "" {
				if d.Call != nil {
					t.Fatalf("routed to %s", d.Call.Upstream.Alias)
				}
				return
			}
			if d.Call == nil || d.Call.Upstream.Alias != tc.wantAlias || d.Call.RelayRequests {
				t.Fatalf("got %+v", d.Call)
			}
			var sent struct{ ID json.RawMessage }
			if json.Unmarshal(d.Body, &sent); string(sent.ID) != "1" {
				t.Fatalf("upstream gets id %s, want 1: %s", sent.ID, d.Body)
			}
		})
	}
}

// Calls on prefixed scopes from clients that can be asked get their
// response streams relayed; elsewhere nothing changes.
func TestWhichCallsAreRelayed(t *testing.T) {
	r := testRouter(t)
	WithSessionCheck(func(id, _ string) (uint8, error) {
		if id == "asks" {
			return 1, nil // elicitation
		}
		return 0, nil
	})(r)
	call := []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"demo-ask"}}`)
	for _, tc := range []struct {
		name, path, session, version string
		want                         bool
	}{
		{"aggregate, client with elicitation", "/mcp", "asks", "2025-11-25", true},
		{"server list", "/mcp/demo", "asks", "2025-06-18", true},
		{"no capabilities", "/mcp", "plain", "2025-11-25", false},
		{"2026-07-28 client", "/mcp", "asks", "2026-07-28", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := r.decideBody(Headers{":method": "POST", ":path": tc.path, "mcp-session-id": tc.session, "mcp-protocol-version": tc.version,
				"mcp-method": "tools/call", "mcp-name": "demo-ask"}, call)
			if d.Call == nil || d.Call.RelayRequests != tc.want {
				t.Fatalf("got %+v reply %+v", d.Call, d.Reply)
			}
			rd := DecideResponse(d.Call, "200", "text/event-stream")
			if (rd.Relay != nil) != tc.want || slices.Contains(rd.RemoveHeaders, "content-length") != tc.want {
				t.Fatalf("relay %v, removes %q", rd.Relay, rd.RemoveHeaders)
			}
			if DecideResponse(d.Call, "200", "application/json").Relay != nil || DecideResponse(d.Call, "202", "text/event-stream").Relay != nil {
				t.Fatal("a JSON answer or a 202 streamed")
			}
		})
	}
	single := []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ask"}}`)
	if d := r.decideBody(Headers{":method": "POST", ":path": "/demo/mcp", "mcp-session-id": "asks"}, single); d.Call == nil || d.Call.RelayRequests {
		t.Fatalf("single server endpoint: %+v", d.Call)
	}
}

// An answer is routed only for a caller who may use the server it names.
func TestAnswersNeedAccessToTheirServer(t *testing.T) {
	r := authRouter(t, &fakeAuthz{})
	answer := []byte(`{"jsonrpc":"2.0","id":` + string(r.relayIDs.Encode("", "hr", json.RawMessage(`4`))) + `,"result":{}}`)
	for _, tc := range []struct {
		key        string
		wantStatus int // 0: routed
	}{
		{"admin", 0},
		{"alice", 403}, // may use demo only
		{"", 401},
	} {
		d := r.decideBody(Headers{":method": "POST", ":path": "/mcp", "x-litellm-api-key": tc.key}, answer)
		switch {
		case tc.wantStatus == 0 && (d.Call == nil || d.Call.Upstream.Alias != "hr"):
			t.Errorf("%q: not routed to hr: %+v", tc.key, d)
		case tc.wantStatus != 0 && (d.Reply == nil || d.Reply.Status != tc.wantStatus):
			t.Errorf("%q: want %d, got %+v", tc.key, tc.wantStatus, d)
		}
	}
}

// A resources/read on a prefixed scope answers with the URIs the client
// knows; on the server's own endpoint, with the upstream's.
func TestResourceReadURIsArePrefixed(t *testing.T) {
	r := testRouter(t)
	read := []byte(`{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"mcpgw://demo/file:///a.txt"}}`)
	d := r.decideBody(Headers{":method": "POST", ":path": "/mcp"}, read)
	if d.Call == nil || d.Call.URIPrefix != "mcpgw://demo/" {
		t.Fatalf("aggregate: %+v", d.Call)
	}
	if d := r.decideBody(Headers{":method": "POST", ":path": "/demo/mcp"}, []byte(`{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"file:///a.txt"}}`)); d.Call == nil || d.Call.URIPrefix != "" {
		t.Fatalf("single server: %+v", d.Call)
	}
	answer := `{"jsonrpc":"2.0","id":4,"result":{"contents":[{"uri":"file:///a.txt","text":"hi"},{"uri":"file:///b.bin","blob":"AA=="}]}}`
	rd := DecideResponse(d.Call, "200", "application/json")
	if !rd.BufferBody || !slices.Contains(rd.RemoveHeaders, "content-length") {
		t.Fatalf("JSON answer not collected, or its headers (which go ahead of it) keep content-length: %+v", rd)
	}
	body, set := DecideResponseBody(d.Call, []byte(answer), "application/json", true)
	for _, want := range []string{`"uri":"mcpgw://demo/file:///a.txt"`, `"uri":"mcpgw://demo/file:///b.bin"`, `"text":"hi"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("answer lacks %s: %s", want, body)
		}
	}
	if len(set) != 1 || set[0].Value != strconv.Itoa(len(body)) {
		t.Fatalf("content-length %+v for %d bytes", set, len(body))
	}
	stream := DecideResponse(d.Call, "200", "text/event-stream").Relay
	if stream == nil {
		t.Fatal("event-stream answer not relayed")
	}
	out := stream.Chunk([]byte("event: message\ndata: "+answer+"\n\n"), true)
	if !bytes.Contains(out, []byte(`"uri":"mcpgw://demo/file:///a.txt"`)) {
		t.Fatalf("streamed answer: %s", out)
	}
	// Other calls on the aggregate are left alone.
	call := r.decideBody(Headers{":method": "POST", ":path": "/mcp"}, []byte(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"demo-echo"}}`))
	if rd := DecideResponse(call.Call, "200", "application/json"); rd.BufferBody || rd.Relay != nil {
		t.Fatalf("a tools/call answer is rewritten: %+v", rd)
	}
}
