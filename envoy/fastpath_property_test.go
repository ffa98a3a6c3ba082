package envoy

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// fullPathAllows is what the full path decides for a tools/call body
// from the key TestFastPathLive calls sk-a (tools echo and html; echo
// takes only text and n): the message must parse as the gateway parses
// it (extproc/rpc: one request, no ambiguous member), name a granted
// tool, and send only allowed argument names (at most 256).
//
// prefix is "" on the server's own endpoint; on /mcp it is the server's
// "<alias><separator>", which the name must start with.
func fullPathAllows(body, mcpName, prefix string) bool {
	msg, batch, err := rpc.Parse([]byte(body))
	if err != nil || batch || msg.Kind != rpc.KindRequest || msg.Method != "tools/call" {
		return false
	}
	name, ok := msg.ParamString("name")
	if !ok || name != mcpName || !strings.HasPrefix(name, prefix) {
		return false
	}
	name = name[len(prefix):]
	if name != "echo" && name != "html" {
		return false
	}
	raw := bytes.TrimSpace(msg.ParamRaw("arguments"))
	if len(raw) == 0 {
		return true
	}
	if raw[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return false
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := tok.(string)
		if n++; n > 256 || (name == "echo" && k != "text" && k != "n") {
			return false
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return true
}

// fastPathProperty sends mutations of tools/call bodies through send
// (which reports whether the fast path took the request and the body the
// upstream got) and fails when the fast path takes a request the full
// path would refuse, or changes the body. The mutations are the ones
// parsers disagree on: members repeated, in other cases, escaped or
// folded, values of other types, bytes cut or changed.
//
// With a prefix (the aggregated endpoint /mcp), the names are written
// with it, and the upstream must get the body with the name's prefix
// stripped and nothing else changed.
func fastPathProperty(t *testing.T, prefix string, send func(body, mcpName string) (fast bool, upstreamBody string)) {
	seeds := []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","n":1}}}`,
		`{"jsonrpc":"2.0","id":"r-1","method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}},"name":"echo","arguments":{"text":"{\"name\":\"shout\"}"}}}`,
		"{ \"method\" : \"tools/call\" ,\n \"params\" : { \"arguments\" : { \"n\" : [1,{\"x\":null}] } , \"name\" : \"echo\" } , \"id\" : 1 , \"jsonrpc\" : \"2.0\" }",
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"html"}}`,
	}
	for i := range seeds {
		seeds[i] = strings.Replace(seeds[i], `"name" : "echo"`, `"name" : "`+prefix+`echo"`, 1)
		seeds[i] = strings.Replace(seeds[i], `"name":"echo"`, `"name":"`+prefix+`echo"`, 1)
		seeds[i] = strings.Replace(seeds[i], `"name":"html"`, `"name":"`+prefix+`html"`, 1)
	}
	keys := []string{`"name"`, `"Name"`, `"NAME"`, `"n\u0061me"`, `"arguments"`, `"Arguments"`, `"argumentſ"`, `"id"`, `"ID"`, `"method"`,
		`"params"`, `"jsonrpc"`, `"_meta"`, `"result"`, `"x"`, `"text"`, `"n"`, `"N"`, `"te\u0078t"`, `"Text"`, `"teKt"`, `"\u006e"`}
	values := []string{`"shout"`, `"echo"`, `"html"`, `1`, `[1]`, `{}`, `null`, `"tools/list"`, `"1.0"`, `{"text":1}`, `{"x":1}`, `[]`, `true`}
	rng := rand.New(rand.NewPCG(14, 2026))
	// insertAfter puts a member right after the '{' that opens the object
	// of the given member ("" = the top level).
	insertAfter := func(body, member, kv string) string {
		i := 0
		if member != "" {
			at := strings.Index(body, `"`+member+`"`)
			if at < 0 {
				return body
			}
			i = at
		}
		j := strings.IndexByte(body[i:], '{')
		if j < 0 {
			return body
		}
		j += i + 1
		rest := body[j:]
		sep := ","
		if strings.HasPrefix(strings.TrimSpace(rest), "}") {
			sep = ""
		}
		return body[:j] + kv + sep + rest
	}
	var fast, allowed, total int
	for i := 0; i < 1500; i++ {
		body := seeds[rng.IntN(len(seeds))]
		for range 1 + rng.IntN(3) {
			switch rng.IntN(7) {
			case 0, 1, 2:
				level := []string{"", "params", "arguments"}[rng.IntN(3)]
				body = insertAfter(body, level, keys[rng.IntN(len(keys))]+":"+values[rng.IntN(len(values))])
			case 3:
				if len(body) > 2 {
					j := rng.IntN(len(body))
					body = body[:j] + body[j+1:]
				}
			case 4:
				if len(body) > 0 {
					const junk = "{}[],:\"\\ aN"
					j := rng.IntN(len(body))
					body = body[:j] + string(junk[rng.IntN(len(junk))]) + body[j+1:]
				}
			case 5:
				variants := []string{`"shout"`, `"Echo"`, `"ech\u006f"`, `"fast-echo"`, `"echo "`, `"fast2-echo"`, `"fast-"`, `"fast-fast-echo"`}
				v := variants[rng.IntN(len(variants))]
				if prefix != "" && v[1] != 'f' {
					v = `"` + prefix + v[1:]
				}
				body = strings.Replace(body, `"`+prefix+`echo"`, v, 1)
			case 6:
				body = "[" + body + "]"
			}
		}
		mcpName := prefix + "echo"
		if msg, batch, err := rpc.Parse([]byte(body)); err == nil && !batch {
			if n, ok := msg.ParamString("name"); ok && n != "" && !strings.ContainsAny(n, "\r\n\x00") {
				mcpName = n
			}
		}
		took, got := send(body, mcpName)
		total++
		want := fullPathAllows(body, mcpName, prefix)
		if want {
			allowed++
		}
		if !took {
			continue
		}
		fast++
		if !want {
			t.Errorf("the fast path took a call the full path refuses: Mcp-Name %q body %s", mcpName, body)
		}
		wantBody := body
		if prefix != "" {
			// The name's raw value is plain (the fast path took it):
			// its first appearance is params.name (no mutation writes
			// a prefixed name anywhere else).
			wantBody = strings.Replace(body, `"`+mcpName+`"`, `"`+strings.TrimPrefix(mcpName, prefix)+`"`, 1)
		}
		if got != wantBody {
			t.Errorf("the fast path sent the upstream another body: sent %s, upstream got %s, want %s", body, got, wantBody)
		}
	}
	if fast == 0 || slices.Contains([]int{0, total}, allowed) {
		t.Fatalf("%d of %d took the fast path, %d allowed: the mutations test nothing", fast, total, allowed)
	}
	t.Logf("%d bodies: %d allowed by the full path, %d of them on the fast path", total, allowed, fast)
}
