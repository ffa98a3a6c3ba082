package router

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/upstreams"
)

// testIDs signs relayed ids in these tests, for client session "s".
var testIDs = &relayIDs{keys: [][]byte{[]byte("test key")}}

// encodeRequestID is the id client session "s" sees (testIDs).
func encodeRequestID(alias string, raw json.RawMessage) json.RawMessage {
	return testIDs.encode("s", alias, raw)
}

// decodeRequestID reads an id made for client session "s" (testIDs).
func decodeRequestID(id json.RawMessage) (string, json.RawMessage, bool) {
	return testIDs.decode("s", id)
}

func idRelay(alias string) *Relay {
	return NewRelay(&Call{Upstream: &upstreams.Upstream{Alias: alias}, RelayRequests: true, relayIDs: testIDs, ClientSession: "s"})
}

func downgradeRelay() *Relay {
	return NewRelay(&Call{Upstream: &upstreams.Upstream{Alias: "old"}, Downgraded: true})
}

func TestRequestIDsRoundTrip(t *testing.T) {
	for _, id := range []string{`1`, `-7`, `1.5e3`, `"abc"`, `"a\u0000b"`, `""`, `"mcpgw1.x"`} {
		enc := encodeRequestID("my_wiki", json.RawMessage(id))
		var s string
		if json.Unmarshal(enc, &s) != nil || !strings.HasPrefix(s, relayIDPrefix) {
			t.Fatalf("%s: encoded %s is not a gateway string id", id, enc)
		}
		alias, raw, ok := decodeRequestID(enc)
		if !ok || alias != "my_wiki" || string(raw) != id {
			t.Fatalf("%s: decoded %q %s %v", id, alias, raw, ok)
		}
	}
	// Signed for another session, with another key, or not at all (an
	// upstream writing an id into its stream), or naming no alias.
	payload := base64.RawURLEncoding.EncodeToString([]byte("my_wiki\x001"))
	other := &relayIDs{keys: [][]byte{[]byte("another key")}}
	for _, bad := range []string{`1`, `"x"`, `"mcpgw1."`, `"mcpgw1.!!"`, `"mcpgw1.` + payload + `"`, `"mcpgw1.` + payload + `.AAAA"`,
		string(testIDs.encode("s2", "my_wiki", json.RawMessage(`1`))), string(other.encode("s", "my_wiki", json.RawMessage(`1`))),
		string(testIDs.encode("s", "", json.RawMessage(`1`))),
		string(encodeRequestID("a", json.RawMessage(`{"x":1}`))), // not a JSON-RPC id
		string(encodeRequestID("a", json.RawMessage(`null`))), `null`, `{}`} {
		if alias, raw, ok := decodeRequestID(json.RawMessage(bad)); ok {
			t.Errorf("%s decoded as %q %s", bad, alias, raw)
		}
	}
	// Keys rotate: ids signed with the previous first key still read.
	rotated := &relayIDs{keys: [][]byte{[]byte("new key"), []byte("test key")}}
	if alias, _, ok := rotated.decode("s", encodeRequestID("my_wiki", json.RawMessage(`1`))); !ok || alias != "my_wiki" {
		t.Error("an id signed with an older key is refused")
	}
}

const relayStream = "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\r\n\r\n" +
	"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"elicitation/create\",\"params\":{\"message\":\"name?\"}}\nid: 7\n\n" +
	": keep-alive\n\n" +
	"data: {\"jsonrpc\":\"2.0\",\"id\":\"s-2\",\"method\":\"sampling/createMessage\",\"params\":{}}\n\n" +
	"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1,\"reason\":\"timeout\"}}\n\n" +
	"data: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[]}}\n\n"

// The stream comes in chunks that do not follow lines; what the client
// gets is the same however it is cut: requests carry relayed ids,
// everything else passes byte for byte.
func TestRelayRewritesRequestIDsAcrossChunks(t *testing.T) {
	whole := idRelay("rich").Chunk([]byte(relayStream), true)
	for _, want := range []string{
		`"id":` + string(encodeRequestID("rich", json.RawMessage(`1`))),
		`"id":` + string(encodeRequestID("rich", json.RawMessage(`"s-2"`))),
		`"requestId":` + string(encodeRequestID("rich", json.RawMessage(`1`))), // the cancellation names the relayed id
		"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\r\n",
		"data: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[]}}\n\n",
		"id: 7\n\n: keep-alive\n\n",
	} {
		if !bytes.Contains(whole, []byte(want)) {
			t.Fatalf("relayed stream lacks %q:\n%s", want, whole)
		}
	}
	if bytes.Contains(whole, []byte(`"id":1,`)) || bytes.Contains(whole, []byte(`"id":"s-2"`)) {
		t.Fatalf("an upstream request kept its id:\n%s", whole)
	}
	for size := 1; size <= len(relayStream); size++ {
		r := idRelay("rich")
		var got []byte
		for i := 0; i < len(relayStream); i += size {
			end := min(i+size, len(relayStream))
			got = append(got, r.Chunk([]byte(relayStream[i:end]), end == len(relayStream))...)
		}
		if !bytes.Equal(got, whole) {
			t.Fatalf("chunks of %d bytes:\n%s\nwant\n%s", size, got, whole)
		}
	}
}

// The client's answer to a relayed request goes to the upstream that
// asked, with the upstream's own id, on prefixed scopes; an answer with
// any other id stays with the sidecar, as before.
func TestAnswersAreRoutedByRelayedID(t *testing.T) {
	r := testRouter(t)
	answer := func(id json.RawMessage) []byte {
		return []byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"action":"accept","content":{"name":"x"}}}`)
	}
	enc := func(alias string) json.RawMessage { return r.relayIDs.encode("s1", alias, json.RawMessage(`1`)) }
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
		{"made for another session", "/mcp", r.relayIDs.encode("s2", "demo", json.RawMessage(`1`)), ""},
		{"forged", "/mcp", testIDs.encode("s1", "demo", json.RawMessage(`1`)), ""},
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

func FuzzDecodeRequestID(f *testing.F) {
	for _, s := range []string{`1`, `"x"`, string(encodeRequestID("a", json.RawMessage(`7`))), `"mcpgw1.YQA3"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, id []byte) {
		alias, raw, ok := decodeRequestID(id)
		if !ok {
			return
		}
		if alias == "" || !validRelayedID(raw) {
			t.Fatalf("%q decoded to %q %q", id, alias, raw)
		}
		if again := encodeRequestID(alias, raw); !bytes.Equal(bytes.TrimSpace(id), again) && json.Valid(id) {
			// Another spelling of the same string (escapes) is fine; the
			// decoded parts must round-trip.
			if a2, r2, ok2 := decodeRequestID(again); !ok2 || a2 != alias || !bytes.Equal(r2, raw) {
				t.Fatalf("%q does not round-trip", id)
			}
		}
	})
}

// For a 2026-07-28 client on an older upstream: results get resultType,
// the upstream's requests leave the stream and are handed back to be
// declined, notifications pass.
func TestDowngradeRelay(t *testing.T) {
	r := downgradeRelay()
	out := r.Chunk([]byte(relayStream), true)
	for _, want := range []string{
		"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\r\n",
		`"resultType":"complete"`,
		"event: message\nid: 7\n\n", // the request's event, without its data
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("downgraded stream lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("elicitation/create")) || bytes.Contains(out, []byte("sampling/createMessage")) {
		t.Fatalf("an upstream request reached the client:\n%s", out)
	}
	d := r.Declined()
	if len(d) != 2 || string(d[0].ID) != "1" || d[0].Method != "elicitation/create" || string(d[1].ID) != `"s-2"` || d[1].Method != "sampling/createMessage" {
		t.Fatalf("declined %+v", d)
	}
	if len(r.Declined()) != 0 {
		t.Fatal("Declined hands each request back once")
	}
	var answer struct {
		ID    json.RawMessage
		Error struct {
			Code    int
			Message string
		}
	}
	if err := json.Unmarshal(DeclineBody(d[1]), &answer); err != nil || string(answer.ID) != `"s-2"` || answer.Error.Code != -32601 ||
		!strings.Contains(answer.Error.Message, "sampling/createMessage") {
		t.Fatalf("decline body %s (%v)", DeclineBody(d[1]), err)
	}
}

func FuzzRelayChunks(f *testing.F) {
	f.Add([]byte(relayStream), 7, false)
	f.Add([]byte(relayStream), 3, true)
	f.Fuzz(func(t *testing.T, stream []byte, size int, downgrade bool) {
		if size <= 0 || size > len(stream) {
			size = len(stream) + 1
		}
		relay := func() *Relay {
			if downgrade {
				return downgradeRelay()
			}
			return idRelay("a")
		}
		whole := relay().Chunk(stream, true)
		r := relay()
		var got []byte
		for i := 0; i < len(stream); i += size {
			end := min(i+size, len(stream))
			got = append(got, r.Chunk(stream[i:end], end == len(stream))...)
		}
		if len(stream) == 0 {
			got = r.Chunk(nil, true)
		}
		if !bytes.Equal(got, whole) {
			t.Fatalf("chunked relay differs:\n%q\n%q", got, whole)
		}
	})
}

// An answer is routed only for a caller who may use the server it names.
func TestAnswersNeedAccessToTheirServer(t *testing.T) {
	r := authRouter(t, &fakeAuthz{})
	answer := []byte(`{"jsonrpc":"2.0","id":` + string(r.relayIDs.encode("", "hr", json.RawMessage(`4`))) + `,"result":{}}`)
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
