package relay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// testIDs signs relayed ids in these tests, for client session "s".
var testIDs = NewIDs([][]byte{[]byte("test key")})

// encodeRequestID is the id client session "s" sees (testIDs).
func encodeRequestID(alias string, raw json.RawMessage) json.RawMessage {
	return testIDs.Encode("s", alias, raw)
}

// decodeRequestID reads an id made for client session "s" (testIDs).
func decodeRequestID(id json.RawMessage) (string, json.RawMessage, bool) {
	return testIDs.Decode("s", id)
}

func idRelay(alias string) *Stream {
	return New(Options{Alias: alias, IDs: testIDs, Session: "s"})
}

func downgradeRelay() *Stream {
	return New(Options{Alias: "old", IDs: testIDs, Session: "s", Downgrade: true})
}

func TestRequestIDsRoundTrip(t *testing.T) {
	for _, id := range []string{`1`, `-7`, `1.5e3`, `"abc"`, `"a\u0000b"`, `""`, `"mcpgw1.x"`} {
		enc := encodeRequestID("my_wiki", json.RawMessage(id))
		var s string
		if json.Unmarshal(enc, &s) != nil || !strings.HasPrefix(s, IDPrefix) {
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
	other := NewIDs([][]byte{[]byte("another key")})
	for _, bad := range []string{`1`, `"x"`, `"mcpgw1."`, `"mcpgw1.!!"`, `"mcpgw1.` + payload + `"`, `"mcpgw1.` + payload + `.AAAA"`,
		string(testIDs.Encode("s2", "my_wiki", json.RawMessage(`1`))), string(other.Encode("s", "my_wiki", json.RawMessage(`1`))),
		string(testIDs.Encode("s", "", json.RawMessage(`1`))),
		string(encodeRequestID("a", json.RawMessage(`{"x":1}`))), // not a JSON-RPC id
		string(encodeRequestID("a", json.RawMessage(`null`))), `null`, `{}`} {
		if alias, raw, ok := decodeRequestID(json.RawMessage(bad)); ok {
			t.Errorf("%s decoded as %q %s", bad, alias, raw)
		}
	}
	// Keys rotate: ids signed with the previous first key still read.
	rotated := NewIDs([][]byte{[]byte("new key"), []byte("test key")})
	if alias, _, ok := rotated.Decode("s", encodeRequestID("my_wiki", json.RawMessage(`1`))); !ok || alias != "my_wiki" {
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

func FuzzDecodeRequestID(f *testing.F) {
	for _, s := range []string{`1`, `"x"`, string(encodeRequestID("a", json.RawMessage(`7`))), `"mcpgw1.YQA3"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, id []byte) {
		alias, raw, ok := decodeRequestID(id)
		if !ok {
			return
		}
		if alias == "" || !ValidID(raw) {
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
		relay := func() *Stream {
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
