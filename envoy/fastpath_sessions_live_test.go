package envoy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/internal/clientsession"
)

// sealedID writes a client session id as internal/clientsession does
// (its format, written out again here so that the Lua filter is checked
// against the format and not only against the Sealer): "mcpgw1_" +
// base64url(issued-at | capabilities | random | mac).
func sealedID(key []byte, issued time.Time, caps byte, owner string) string {
	var b [40]byte
	binary.BigEndian.PutUint64(b[:8], uint64(issued.Unix()))
	b[8] = caps
	copy(b[9:24], "fifteen-random!")
	h := hmac.New(sha256.New, key)
	h.Write(b[:24])
	h.Write([]byte(owner))
	copy(b[24:], h.Sum(nil)[:16])
	return "mcpgw1_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// TestFastPathLiveSessions: an older client's call (MCP before
// 2026-07-28: no Mcp-Method or Mcp-Name, maybe a session id) takes the
// fast path exactly when the key's grant names its protocol version and
// its session id, if any, opens for that key as the gateway opens it;
// the upstream then gets no session id and the client gets its own back.
// Its lists go to the sidecar's direct route.
func TestFastPathLiveSessions(t *testing.T) { forEachEngine(t, testFastPathLiveSessions) }

func testFastPathLiveSessions(t *testing.T) {
	sealer, err := clientsession.NewSealer([]string{"live-test-session-secret"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := clientsession.NewSealer([]string{"another-secret"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, ttl := sealer.MACKeys()[0], sealer.TTL()
	grants := map[string]FastPathGrant{
		digestOf("sk-a"): {KeyAlias: "alice", Tools: []string{"echo", "html", "ask"}, Versions: []string{"2025-11-25", "2026-07-28"}},
		digestOf("sk-b"): {AnyTool: true}, // 2026-07-28 only
	}
	env := startFastPathEnvoyWith(t, grants, time.Now().Add(time.Hour), nil, func(fp *FastPath) {
		// A retired key first: every key opens ids, as in the gateway.
		fp.SessionKeys = [][]byte{other.MACKeys()[0], key}
		fp.SessionTTL = ttl
		fp.ListToken = "list-token"
		fp.RelayKey = sealer.RelayKeys()[0]
	})
	// Only the module relays an answer's event stream.
	module := engineOf(t) == engineModule

	const call = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`
	alice, bob := digestOf("sk-a"), digestOf("sk-b")
	now := time.Now()
	own := sealer.New(0, alice)
	good := sealedID(key, now, 0, alice)
	// The last character of an id carries 2 bits: others there decode
	// to the same bytes in Go, not here (the full path's, then).
	loose := good[:len(good)-1] + string(good[len(good)-1]+1)
	std := map[string]string{
		"content-type":         "application/json",
		"accept":               "application/json, text/event-stream",
		"mcp-protocol-version": "2025-11-25",
		"x-litellm-api-key":    "sk-a",
	}
	with := func(changes ...string) map[string]string { return changed(std, changes...) }
	tests := []struct {
		name    string
		path    string // "" = /fast/mcp
		headers map[string]string
		body    string
		fast    bool
	}{
		{"no session", "", std, call, true},
		{"the sealer's id", "", with("mcp-session-id", own), call, true},
		{"an id of the format", "", with("mcp-session-id", good), call, true},
		{"on /mcp", "/mcp", with("mcp-session-id", good), strings.Replace(call, `"echo"`, `"fast-echo"`, 1), true},
		{"an id sealed with the retired key", "", with("mcp-session-id", sealedID(other.MACKeys()[0], now, 0, alice)), call, true},
		{"capabilities, on the server's endpoint", "", with("mcp-session-id", sealedID(key, now, 3, alice)), call, true},
		// Its call's event stream is relayed on /mcp: by the module, or
		// by the full path.
		{"capabilities, on /mcp", "/mcp", with("mcp-session-id", sealedID(key, now, 3, alice)), strings.Replace(call, `"echo"`, `"fast-echo"`, 1), module},
		{"the session id twice", "", with("mcp-session-id", good+", "+good), call, false},
		{"2026-07-28 without Mcp-Method", "", with("mcp-protocol-version", "2026-07-28", "mcp-name", "echo"), call, false},
		{"old but valid", "", with("mcp-session-id", sealedID(key, now.Add(-ttl+3*time.Minute), 0, alice)), call, true},
		{"about to expire", "", with("mcp-session-id", sealedID(key, now.Add(-ttl+30*time.Second), 0, alice)), call, false},
		{"expired", "", with("mcp-session-id", sealedID(key, now.Add(-ttl-time.Minute), 0, alice)), call, false},
		{"issued in the future", "", with("mcp-session-id", sealedID(key, now.Add(time.Minute), 0, alice)), call, false},
		{"another key's id", "", with("mcp-session-id", sealedID(key, now, 0, bob)), call, false},
		{"an id of another secret", "", with("mcp-session-id", sealedID([]byte("not the key, 32 bytes long......"), now, 0, alice)), call, false},
		{"a bit changed", "", with("mcp-session-id", good[:20]+string(good[20]^1)+good[21:]), call, false},
		{"loose last character", "", with("mcp-session-id", loose), call, false},
		{"no prefix", "", with("mcp-session-id", strings.TrimPrefix(good, "mcpgw1_")), call, false},
		{"padded", "", with("mcp-session-id", good+"=="), call, false},
		{"standard base64", "", with("mcp-session-id", strings.NewReplacer("-", "+", "_", "/").Replace(good)), call, strings.NewReplacer("-", "+", "_", "/").Replace(good) == good},
		{"garbage", "", with("mcp-session-id", "mcpgw1_"+strings.Repeat("!", 54)), call, false},
		{"a version not learned", "", with("mcp-protocol-version", "2025-06-18"), call, false},
		{"a key learned at 2026-07-28 only", "", with("x-litellm-api-key", "sk-b"), call, false},
		{"no version", "", with("mcp-protocol-version", ""), call, false},
		{"Mcp-Name from an older client", "", with("mcp-name", "echo"), call, false},
		{"Mcp-Method from an older client", "", with("mcp-method", "tools/call"), call, false},
		{"2026-07-28 with a session id", "", with("mcp-protocol-version", "2026-07-28", "mcp-method", "tools/call", "mcp-name", "echo", "mcp-session-id", good), call, false},
		{"tool not granted", "", with("mcp-session-id", good), strings.Replace(call, `"echo"`, `"other"`, 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/fast/mcp"
			}
			c := env.send(t, path, tc.body, tc.headers)
			if c.seen == nil {
				t.Fatalf("the upstream did not get the request once (status %d)", c.status)
			}
			if !tc.fast {
				if c.fast || c.seen.Path != path {
					t.Fatalf("took the fast path (upstream path %q), want ext_proc", c.seen.Path)
				}
				return
			}
			if !c.fast || c.seen.Path != "/upstream/mcp" {
				t.Fatalf("took the full path (upstream path %q), want the fast path", c.seen.Path)
			}
			if v := c.seen.Header.Get("mcp-session-id"); v != "" {
				t.Errorf("upstream got the client's session id %q", v)
			}
			if c.seen.Header.Get("mcp-protocol-version") != tc.headers["mcp-protocol-version"] {
				t.Errorf("upstream got MCP-Protocol-Version %q", c.seen.Header.Get("mcp-protocol-version"))
			}
			// The client gets its own session id, never the upstream's.
			if got, want := c.header.Get("mcp-session-id"), tc.headers["mcp-session-id"]; got != want || len(c.header.Values("mcp-session-id")) > 1 {
				t.Errorf("client got mcp-session-id %q, want %q", c.header.Values("mcp-session-id"), want)
			}
		})
	}

	// Mutated ids: the fast path may take one only if the gateway's own
	// opener opens it for the key (it may leave any to the full path).
	t.Run("property: mutated ids", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 11))
		const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=!. "
		taken := 0
		for i := range 300 {
			id := []byte(own)
			switch i % 4 {
			case 0: // a character changed
				id[rng.IntN(len(id))] = chars[rng.IntN(len(chars))]
			case 1: // cut
				id = id[:rng.IntN(len(id))]
			case 2: // a character added
				at := rng.IntN(len(id) + 1)
				id = slices.Insert(id, at, chars[rng.IntN(len(chars))])
			case 3: // two characters swapped
				a, b := rng.IntN(len(id)), rng.IntN(len(id))
				id[a], id[b] = id[b], id[a]
			}
			v := strings.TrimSpace(string(id))
			if v == "" {
				continue
			}
			c := env.send(t, "/fast/mcp", call, with("mcp-session-id", v))
			if !c.fast {
				continue
			}
			if _, err := sealer.Open(v, alice); err != nil {
				t.Errorf("took the fast path with id %q, which the gateway refuses: %v", v, err)
			}
			if got := c.header.Get("mcp-session-id"); got != v {
				t.Errorf("id %q: the client got %q back", v, got)
			}
			if v != own {
				taken++
			}
		}
		// Swaps of equal characters and the like leave the id whole;
		// a changed id that still opens is a 2^-128 event.
		if taken > 0 {
			t.Errorf("%d changed ids took the fast path", taken)
		}
	})

	// The relayed stream: the upstream's request and its cancellation
	// carry the id the full path gives them (and routes the client's
	// answer by), the rest passes byte for byte; for a client that
	// declared nothing, and on a server's own endpoint, all of it does.
	t.Run("an upstream's request to a client that declared capabilities, on /mcp", func(t *testing.T) {
		ask := strings.Replace(call, `"echo"`, `"fast-ask"`, 1)
		withCaps := sealedID(key, now, 3, alice)
		c := env.send(t, "/mcp", ask, with("mcp-session-id", withCaps))
		if c.fast != module || c.status != 200 || c.seen == nil {
			t.Fatalf("fast %v, status %d, upstream reached %v", c.fast, c.status, c.seen != nil)
		}
		if !module {
			return // the test ext_proc service relays nothing
		}
		relayed, _ := json.Marshal(relay.NewIDs(sealer.RelayKeys()).Encode(withCaps, "fast", json.RawMessage(`3`)))
		want := strings.ReplaceAll(strings.ReplaceAll(askStream, `"id":3,`, `"id":`+string(relayed)+`,`), `"requestId":3}`, `"requestId":`+string(relayed)+`}`)
		// (The full path writes a rewritten message anew: members in
		// name order.)
		want = strings.Replace(want, `{"jsonrpc":"2.0","id":`+string(relayed)+`,"method":"elicitation/create","params":{"message":"name?"}}`,
			`{"id":`+string(relayed)+`,"jsonrpc":"2.0","method":"elicitation/create","params":{"message":"name?"}}`, 1)
		if c.body != want {
			t.Errorf("client got\n%s\nwant\n%s", c.body, want)
		}
		if c.header.Get("content-length") != "" && c.header.Get("content-length") != fmt.Sprint(len(c.body)) {
			t.Errorf("content-length %q for %d bytes", c.header.Get("content-length"), len(c.body))
		}
		if c.header.Get("mcp-session-id") != withCaps {
			t.Errorf("session id %q", c.header.Get("mcp-session-id"))
		}
		for _, tc := range []struct{ name, path, body, session string }{
			{"no capabilities", "/mcp", ask, good},
			{"the server's endpoint", "/fast/mcp", strings.Replace(call, `"echo"`, `"ask"`, 1), withCaps},
		} {
			c := env.send(t, tc.path, tc.body, with("mcp-session-id", tc.session))
			if !c.fast || c.body != askStream {
				t.Errorf("%s: fast %v, client got\n%s", tc.name, c.fast, c.body)
			}
		}
	})

	t.Run("an HTML answer is the full path's 502, without the session id", func(t *testing.T) {
		c := env.send(t, "/fast/mcp", strings.Replace(call, `"echo"`, `"html"`, 1), with("mcp-session-id", good))
		if !c.fast || c.status != 502 || c.header.Get("mcp-session-id") != "" || !strings.Contains(c.body, `"code":-32603`) {
			t.Errorf("fast %v, status %d, headers %v, body %s", c.fast, c.status, c.header, c.body)
		}
	})

	t.Run("an older client's list goes to the sidecar directly", func(t *testing.T) {
		for _, path := range []string{"/fast/mcp", "/mcp"} {
			c := env.send(t, path, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, with("mcp-session-id", good))
			env.sidecar.mu.Lock()
			last := env.sidecar.last
			env.sidecar.last = nil
			env.sidecar.mu.Unlock()
			if c.seen != nil || last == nil || last.Header.Get(DirectListHeader) != "list-token" || !c.fast {
				t.Errorf("%s: upstream got %v; sidecar got %v (want it, with the list token, without ext_proc)", path, c.seen, last)
			}
		}
	})
}
