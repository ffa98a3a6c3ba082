package aggregate

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// TestToolsPageIsWhatGoSDKWrites: every tools/list the fast path answers
// gets the answer go-sdk gives it, byte for byte (status, the headers
// go-sdk sets, body), and what it leaves to go-sdk is the requests it
// cannot answer exactly so: other versions, _meta, unusual ids, errors.
func TestToolsPageIsWhatGoSDKWrites(t *testing.T) {
	s, endpoint := listFleet(t)
	base := strings.TrimSuffix(endpoint, "/mcp")
	page2 := encodeCursor(500)
	last := encodeCursor(1500)
	type request struct {
		name, path, version, key, accept, body string
		method                                 string // Mcp-Method
		session                                bool   // in a gateway session of key
		fast                                   bool   // the fast path answers it
	}
	list := func(id, params string) string {
		if params == "" {
			return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/list"}`
		}
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/list","params":` + params + `}`
	}
	var cases []request
	for _, v := range []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"} {
		cases = append(cases,
			request{name: v + " first page", path: "/mcp", version: v, key: "sk-all", body: list("1", `{}`), fast: true},
			request{name: v + " no params", path: "/mcp", version: v, key: "sk-all", body: list("2", ""), fast: true},
			request{name: v + " page 2", path: "/mcp", version: v, key: "sk-all", body: list(`"p2"`, `{"cursor":"`+page2+`"}`), fast: true},
			request{name: v + " last page", path: "/mcp", version: v, key: "sk-all", body: list("3", `{"cursor":"`+last+`"}`), fast: true},
		)
	}
	cases = append(cases,
		request{name: "restricted key", path: "/mcp", version: "2025-11-25", key: "sk-some", body: list("4", `{}`), fast: true},
		request{name: "server list", path: "/mcp/up01,up05", version: "2025-11-25", key: "sk-all", body: list("5", `{}`), fast: true},
		request{name: "one server's endpoint", path: "/up03/mcp", version: "2025-11-25", key: "sk-all", body: list("6", `{}`), fast: true},
		request{name: "one server's endpoint, restricted", path: "/up03/mcp", version: "2025-11-25", key: "sk-some", body: list("7", `{}`), fast: true},
		request{name: "a server the key may not use", path: "/up09/mcp", version: "2025-11-25", key: "sk-some", body: list("8", `{}`), fast: true},
		request{name: "accept */*", path: "/mcp", version: "2025-11-25", key: "sk-all", accept: "*/*", body: list("9", `{}`), fast: true},
		request{name: "negative id", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("-12", `{}`), fast: true},
		request{name: "empty cursor", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("10", `{"cursor":""}`), fast: true},

		request{name: "2026-07-28 without Mcp-Method", path: "/mcp", version: "2026-07-28", key: "sk-all",
			body: list("11", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}`)},
		request{name: "no version header", path: "/mcp", key: "sk-all", body: list("12", `{}`)},
		request{name: "_meta", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("13", `{"_meta":{"progressToken":"x"}}`)},
		request{name: "null params", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("14", `null`), fast: true},
		request{name: "in a session", path: "/mcp", version: "2025-11-25", key: "sk-all", session: true, body: list("22", `{}`), fast: true},
		request{name: "fraction id", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("1.5", `{}`)},
		request{name: "exponent id", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("1e2", `{}`)},
		request{name: "string id with a space", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list(`"a b"`, `{}`)},
		request{name: "bad cursor", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("15", `{"cursor":"nope"}`)},
		request{name: "numeric cursor", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("16", `{"cursor":5}`)},
		request{name: "no key", path: "/mcp", version: "2025-11-25", body: list("17", `{}`)},
		request{name: "unknown key", path: "/mcp", version: "2025-11-25", key: "sk-nobody", body: list("18", `{}`)},
		request{name: "json only", path: "/mcp", version: "2025-11-25", key: "sk-all", accept: "application/json", body: list("19", `{}`)},
		request{name: "a notification", path: "/mcp", version: "2025-11-25", key: "sk-all", body: `{"jsonrpc":"2.0","method":"tools/list"}`},
		request{name: "a batch", path: "/mcp", version: "2025-03-26", key: "sk-all", body: "[" + list("20", `{}`) + "]"},
		request{name: "unknown server", path: "/nope/mcp", version: "2025-11-25", key: "sk-all", body: list("21", `{}`)},
	)
	// 2026-07-28: the version, capabilities and client in _meta.
	meta := func(extra string) string {
		return `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}` + extra + `}`
	}
	modern := func(name, path, key, id, params string, fast bool) request {
		return request{name: "2026-07-28 " + name, path: path, version: "2026-07-28", method: "tools/list", key: key, body: list(id, params), fast: fast}
	}
	cases = append(cases,
		modern("first page", "/mcp", "sk-all", "31", `{`+meta("")+`}`, true),
		modern("page 2", "/mcp", "sk-all", `"m2"`, `{"cursor":"`+page2+`",`+meta("")+`}`, true),
		modern("last page", "/mcp", "sk-all", "32", `{`+meta("")+`,"cursor":"`+last+`"}`, true),
		modern("with clientInfo", "/mcp", "sk-all", "33", `{`+meta(`,"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}`)+`}`, true),
		modern("with capabilities", "/mcp", "sk-all", "34",
			`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":{"listChanged":true},"elicitation":{},"sampling":{}}}}`, true),
		modern("restricted key", "/mcp", "sk-some", "35", `{`+meta("")+`}`, true),
		modern("one server's endpoint", "/up03/mcp", "sk-all", "36", `{`+meta("")+`}`, true),
		modern("no _meta", "/mcp", "sk-all", "37", `{}`, false),
		modern("no params", "/mcp", "sk-all", "38", ``, false),
		modern("an older version in _meta", "/mcp", "sk-all", "39",
			`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25","io.modelcontextprotocol/clientCapabilities":{}}}`, false),
		modern("no capabilities", "/mcp", "sk-all", "40", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}`, false),
		modern("capabilities null", "/mcp", "sk-all", "41",
			`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":null}}`, false),
		modern("capabilities a string", "/mcp", "sk-all", "42",
			`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":"x"}}`, false),
		modern("roots a number", "/mcp", "sk-all", "43",
			`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":5}}}`, false),
		modern("clientInfo null", "/mcp", "sk-all", "44", `{`+meta(`,"io.modelcontextprotocol/clientInfo":null`)+`}`, false),
		modern("clientInfo a string", "/mcp", "sk-all", "45", `{`+meta(`,"io.modelcontextprotocol/clientInfo":"t"`)+`}`, false),
		modern("a log level", "/mcp", "sk-all", "46", `{`+meta(`,"io.modelcontextprotocol/logLevel":"debug"`)+`}`, false),
		modern("a progress token", "/mcp", "sk-all", "47", `{`+meta(`,"progressToken":"p"`)+`}`, false),
		modern("a bad cursor", "/mcp", "sk-all", "48", `{"cursor":"nope",`+meta("")+`}`, false),
		modern("another params member", "/mcp", "sk-all", "49", `{"other":1,`+meta("")+`}`, false),
		modern("_META", "/mcp", "sk-all", "50", `{"_META":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}`, false),
		modern("no key", "/mcp", "", "51", `{`+meta("")+`}`, false),
		request{name: "2026-07-28 Mcp-Method prompts/list", path: "/mcp", version: "2026-07-28", method: "prompts/list", key: "sk-all",
			body: list("52", `{`+meta("")+`}`)},
		request{name: "2026-07-28 body, 2025-11-25 header", path: "/mcp", version: "2025-11-25", key: "sk-all", body: list("53", `{`+meta("")+`}`)},
	)
	var session string
	send := func(t *testing.T, c request) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+c.path, strings.NewReader(c.body))
		if c.session {
			req.Header.Set("Mcp-Session-Id", session)
		}
		req.Header.Set("Content-Type", "application/json")
		accept := c.accept
		if accept == "" {
			accept = "application/json, text/event-stream"
		}
		req.Header.Set("Accept", accept)
		if c.version != "" {
			req.Header.Set("Mcp-Protocol-Version", c.version)
		}
		if c.method != "" {
			req.Header.Set("Mcp-Method", c.method)
		}
		if c.key != "" {
			req.Header.Set("X-Litellm-Api-Key", c.key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	_, h, body := send(t, request{path: "/mcp", version: "2025-11-25", key: "sk-all",
		body: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`})
	if session = h.Get("Mcp-Session-Id"); session == "" {
		t.Fatalf("initialize gave no session: %s", body)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.goSDKLists = true
			wantStatus, wantHeader, want := send(t, c)
			s.goSDKLists = false
			before := s.toolsPages.Load()
			status, header, got := send(t, c)
			if fast := s.toolsPages.Load() > before; fast != c.fast {
				t.Errorf("answered by the fast path: %v, want %v", fast, c.fast)
			}
			if status != wantStatus || got != want {
				t.Errorf("fast path: %d %.300s\ngo-sdk:    %d %.300s", status, got, wantStatus, want)
			}
			for _, name := range []string{"Content-Type", "Cache-Control", "Connection", "Mcp-Session-Id"} {
				if header.Get(name) != wantHeader.Get(name) {
					t.Errorf("%s: %q, go-sdk %q", name, header.Get(name), wantHeader.Get(name))
				}
			}
			if c.fast && (wantStatus != http.StatusOK || !strings.Contains(want, `"tools":[`)) {
				t.Errorf("a fast case go-sdk does not answer with tools: %d %.200s", wantStatus, want)
			}
		})
	}
}

// FuzzPlainID: an id the fast path writes back as sent is one go-sdk
// writes back the same (it decodes ids into float64 or string and
// numbers into int64).
func FuzzPlainID(f *testing.F) {
	for _, s := range []string{`1`, `0`, `-0`, `-12`, `007`, `"abc"`, `"a:b.c-d_e"`, `1e2`, `1.5`, `123456789012345`, `9007199254740993`, `"\u0041"`, `" x"`, "0\v "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, ok := plainID(json.RawMessage(raw))
		if !ok {
			return
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("plainID accepted %q, which is not JSON", raw)
		}
		jid, err := jsonrpc.MakeID(v)
		if err != nil {
			t.Fatalf("plainID accepted %q, which go-sdk refuses: %v", raw, err)
		}
		out, _ := json.Marshal(jid.Raw())
		if string(out) != string(id) {
			t.Fatalf("plainID(%q) = %s, go-sdk writes %s", raw, id, out)
		}
	})
}

// FuzzOnlyCursor: params the fast path takes hold nothing but a string
// cursor, which it reads as encoding/json does.
func FuzzOnlyCursor(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"cursor":"x"}`, `{"cursor":1}`, `{"_meta":{}}`, `null`, `[]`, `{"cursor":"a","cursor":"b"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cursor, ok := onlyCursor(json.RawMessage(raw))
		if !ok || strings.TrimSpace(raw) == "" {
			return
		}
		var p struct {
			Cursor string `json:"cursor"`
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &m) != nil || json.Unmarshal([]byte(raw), &p) != nil {
			t.Fatalf("onlyCursor accepted %q", raw)
		}
		for k := range m {
			if k != "cursor" {
				t.Fatalf("onlyCursor accepted %q with %q", raw, k)
			}
		}
		if p.Cursor != cursor {
			t.Fatalf("onlyCursor(%q) = %q, encoding/json reads %q", raw, cursor, p.Cursor)
		}
	})
}
