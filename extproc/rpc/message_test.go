package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		kind     Kind
		method   string
		batch    bool
		wantCode int
		wantMsg  string
	}{
		{name: "request", body: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, kind: KindRequest, method: "tools/list"},
		{name: "string id", body: `{"jsonrpc":"2.0","id":"a","method":"ping","params":{}}`, kind: KindRequest, method: "ping"},
		{name: "notification", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, kind: KindNotification, method: "notifications/initialized"},
		{name: "response", body: `{"jsonrpc":"2.0","id":7,"result":{}}`, kind: KindResponse},
		{name: "batch", body: ` [{"jsonrpc":"2.0","id":1,"method":"ping"}]`, batch: true},
		{name: "null params", body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":null}`, kind: KindRequest, method: "ping"},
		{name: "empty", body: ``, wantCode: CodeParseError, wantMsg: "empty body"},
		{name: "garbage", body: `{"jsonrpc":`, wantCode: CodeParseError, wantMsg: "not valid JSON"},
		{name: "scalar", body: `42`, wantCode: CodeInvalidRequest},
		{name: "no version", body: `{"id":1,"method":"ping"}`, wantCode: CodeInvalidRequest, wantMsg: `"jsonrpc" must be "2.0"`},
		{name: "old version", body: `{"jsonrpc":"1.0","id":1,"method":"ping"}`, wantCode: CodeInvalidRequest},
		{name: "object id", body: `{"jsonrpc":"2.0","id":{},"method":"ping"}`, wantCode: CodeInvalidRequest, wantMsg: `"id"`},
		{name: "method not string", body: `{"jsonrpc":"2.0","id":1,"method":3}`, wantCode: CodeInvalidRequest, wantMsg: `"method"`},
		{name: "empty method", body: `{"jsonrpc":"2.0","id":1,"method":""}`, wantCode: CodeInvalidRequest},
		{name: "scalar params", body: `{"jsonrpc":"2.0","id":1,"method":"x","params":3}`, wantCode: CodeInvalidRequest, wantMsg: `"params"`},
		{name: "neither", body: `{"jsonrpc":"2.0","id":1}`, wantCode: CodeInvalidRequest},
		{name: "response without id", body: `{"jsonrpc":"2.0","result":{}}`, wantCode: CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, batch, err := Parse([]byte(tt.body))
			if tt.wantCode != 0 {
				if err == nil {
					t.Fatalf("want error %d, got message %+v", tt.wantCode, m)
				}
				if err.Code != tt.wantCode || err.Status != 400 || !strings.Contains(err.Message, tt.wantMsg) {
					t.Fatalf("got %d/%d %q; want code %d, status 400, message containing %q", err.Status, err.Code, err.Message, tt.wantCode, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if batch != tt.batch {
				t.Fatalf("batch = %v", batch)
			}
			if batch {
				return
			}
			if m.Kind != tt.kind || m.Method != tt.method {
				t.Fatalf("got kind %d method %q", m.Kind, m.Method)
			}
		})
	}
}

func TestWithParamStringKeepsEverythingElse(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":"x-1","method":"tools/call","params":{"name":"demo-echo","arguments":{"text":"héllo","n":0,"b":false,"s":""},"_meta":{"progressToken":5}}}`
	m, _, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	name, ok := m.ParamString("name")
	if !ok || name != "demo-echo" {
		t.Fatalf("ParamString = %q %v", name, ok)
	}
	out, e := m.WithParamString("echo", "name")
	if e != nil {
		t.Fatal(e)
	}
	var got, want map[string]any
	json.Unmarshal(out, &got)
	json.Unmarshal([]byte(strings.Replace(in, `"demo-echo"`, `"echo"`, 1)), &want)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("rewritten body\n got %s\nwant %s", gb, wb)
	}
}

func TestParamStringAtAPath(t *testing.T) {
	in := `{"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"mcpgw://wiki/file:///a"},"argument":{"name":"n","value":"v"}}}`
	m, _, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"ref", "uri"}, "mcpgw://wiki/file:///a", true},
		{[]string{"ref", "type"}, "ref/resource", true},
		{[]string{"argument", "value"}, "v", true},
		{[]string{"ref"}, "", false},             // an object, not a string
		{[]string{"ref", "uri", "x"}, "", false}, // through a string
		{[]string{"nope", "uri"}, "", false},     // missing
		{nil, "", false},
	} {
		if got, ok := m.ParamString(tc.path...); got != tc.want || ok != tc.ok {
			t.Errorf("ParamString(%q) = %q %v, want %q %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
	out, e := m.WithParamString("file:///a", "ref", "uri")
	if e != nil {
		t.Fatal(e)
	}
	var got, want map[string]any
	json.Unmarshal(out, &got)
	json.Unmarshal([]byte(strings.Replace(in, `"mcpgw://wiki/file:///a"`, `"file:///a"`, 1)), &want)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Fatalf("rewritten body\n got %s\nwant %s", gb, wb)
	}
	for _, bad := range [][]string{{"nope", "uri"}, {"ref", "uri", "x"}, nil} {
		if _, e := m.WithParamString("x", bad...); e == nil {
			t.Errorf("WithParamString(%q) succeeded", bad)
		}
	}
}

func TestErrorResponse(t *testing.T) {
	e := &Error{Status: 400, Code: CodeParseError, Message: "parse error"}
	if got := string(e.Response(nil)); got != `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}` {
		t.Fatalf("got %s", got)
	}
	if got := string(e.Response(json.RawMessage(`"a"`))); !strings.Contains(got, `"id":"a"`) {
		t.Fatalf("got %s", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a-b"}}`, `[]`, `{}`, `null`, `"x"`, `{"jsonrpc":"2.0","id":1,"result":null}`, `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]`,
		`{"jsonrpc":"2.0","id":2,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"mcpgw://a/x"},"argument":{"name":"n","value":""}}}`} {
		f.Add([]byte(s))
	}
	for _, s := range []string{` null `, `1`, `"x"`, `true`, `{"jsonrpc":"2.0","id":1,"method":"x","params":null}`, `{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}`,
		`{"jsonrpc":"2.0","id":1,"Method":"x"}`, `{"jsonrpc":"2.0","id":1,"method":"x","params":{"name":"a","NAME":"b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"x","params":{"ref":{"uri":"a","URI":"b"}}}`, `{"jsonrpc":"2.0","id":1,"method":"x","params":{"n\u0061me":"a"}}`,
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"\xff\":1,\"\\ufffd\":2}}", ` {"jsonrpc" : "2.0" , "id" : "a" , "result" : { } } `,
		"\n { \"jsonrpc\" : \"2.0\" , \"id\" : 4 , \"method\" : \"tools/call\" , \"params\" : { \"name\" : \"echo\" , \"arguments\" : { \"n\" : true\t} , \"x\" : null\r\n} } \n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, batch, err := Parse(body)
		// As encoding/json reads it: the same message, or the same error.
		wm, wbatch, werr := parseByUnmarshal(body)
		if batch != wbatch || (err == nil) != (werr == nil) || (err != nil && *err != *werr) {
			t.Fatalf("Parse(%q) = batch %v, error %v; by Unmarshal: batch %v, error %v", body, batch, err, wbatch, werr)
		}
		if m != nil {
			if m.Kind != wm.Kind || string(m.ID) != string(wm.ID) || m.Method != wm.Method || string(m.Params) != string(wm.Params) || len(m.raw) != len(wm.raw) {
				t.Fatalf("Parse(%q) = %+v; by Unmarshal: %+v", body, m, wm)
			}
			for k, v := range wm.raw {
				if string(m.raw[k]) != string(v) {
					t.Fatalf("Parse(%q): member %q is %s, by Unmarshal %s", body, k, m.raw[k], v)
				}
			}
			for _, field := range []string{"name", "arguments", "uri", "ref", "_meta", "x"} {
				if string(m.ParamRaw(field)) != string(wm.ParamRaw(field)) {
					t.Fatalf("Parse(%q): params.%s is %s, by Unmarshal %s", body, field, m.ParamRaw(field), wm.ParamRaw(field))
				}
			}
		}
		if err != nil {
			if err.Status != 400 {
				t.Fatalf("client input gave status %d", err.Status)
			}
			if !json.Valid(err.Response(nil)) {
				t.Fatal("error response is not JSON")
			}
			return
		}
		if batch {
			msgs, err := ParseBatch(body)
			if err != nil && (err.Status != 400 || !json.Valid(err.Response(nil))) {
				t.Fatalf("batch: status %d", err.Status)
			}
			if err == nil && len(msgs) == 0 {
				t.Fatal("a batch parsed to no messages")
			}
			return
		}
		for _, path := range [][]string{{"name"}, {"ref", "name"}, {"ref", "uri"}} {
			if _, ok := m.ParamString(path...); !ok {
				continue
			}
			out, e := m.WithParamString("x", path...)
			if e != nil || !json.Valid(out) {
				t.Fatalf("rewrite of %q failed: %v", path, e)
			}
			again, _, perr := Parse(out)
			if perr != nil {
				t.Fatalf("rewritten message does not parse: %v", perr)
			}
			if v, ok := again.ParamString(path...); !ok || v != "x" {
				t.Fatalf("%q reads %q %v after the rewrite", path, v, ok)
			}
		}
	})
}

// A message an upstream could read differently is refused: a member that
// repeats, or differs from another or from a JSON-RPC member only in case
// (Go's encoding/json matches names case-insensitively; some parsers keep
// the first of two).
func TestAmbiguousMembersAreRefused(t *testing.T) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","Method":"tools/call","params":{"name":"x"}}`,
		`{"jsonrpc":"2.0","id":"a","result":{},"Params":{"name":"danger"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo","Name":"demo-danger"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo","name":"demo-danger"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"a-p","NAME":"b-p"}}}`,
		`{"jsonrpc":"2.0","id":1,"\u004dethod":"x","method":"tools/call"}`,
		// A lone case variant of a member the gateway reads: the policy
		// would see no arguments (allowed_params), the upstream would.
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a-b","Arguments":{"secret":1}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"URI":"mcpgw://a/x"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"NAME":"a-b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"Ref":{"type":"ref/prompt","name":"a-p"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","Name":"a-p"}}}`,
	} {
		if _, _, err := Parse([]byte(body)); err == nil || err.Status != 400 || err.Code != CodeInvalidRequest {
			t.Errorf("accepted %s (%v)", body, err)
		}
	}
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a-b","arguments":{"Text":1,"text":2}}}`, // arguments are the tool's
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a-b","_meta":{}},"x-extra":1}`,
	} {
		if _, _, err := Parse([]byte(body)); err != nil {
			t.Errorf("refused %s: %v", body, err)
		}
	}
}

// MemberSpan finds a member's value by its decoded name, the first of
// two, whatever the value holds.
func TestMemberSpan(t *testing.T) {
	for _, tc := range []struct {
		obj, name, want string
		ok              bool
	}{
		{`{"name":"a-b","arguments":{"name":"x"}}`, "name", `"a-b"`, true},
		{` { "arguments" : {"name":"x"} , "name" : "a-b" } `, "name", `"a-b"`, true},
		{`{"n\u0061me":"esc","name":"b"}`, "name", `"esc"`, true},
		{`{"x":[1,{"name":2}],"name":null}`, "name", `null`, true},
		{`{"x":"}\"name"}`, "name", ``, false},
		{`{}`, "name", ``, false},
		{`[1]`, "name", ``, false},
		{`{"a":1,"b":-2.5e3}`, "b", `-2.5e3`, true},
	} {
		s, e, ok := MemberSpan([]byte(tc.obj), tc.name)
		if ok != tc.ok || (ok && tc.obj[s:e] != tc.want) {
			t.Errorf("MemberSpan(%s, %q) = %d, %d, %v; want %s, %v", tc.obj, tc.name, s, e, ok, tc.want, tc.ok)
		}
	}
}

func FuzzMemberSpan(f *testing.F) {
	f.Add([]byte(`{"name":"a","b":{"name":1}}`), "name")
	f.Add([]byte(`{ "name" : 1 , "b" : true }`), "name")
	f.Fuzz(func(t *testing.T, obj []byte, name string) {
		if !json.Valid(obj) {
			return
		}
		s, e, ok := MemberSpan(obj, name)
		if !ok {
			return
		}
		// The span is one JSON value, without the space around it.
		if s < 0 || e > len(obj) || s > e || !json.Valid(obj[s:e]) || len(bytes.TrimSpace(obj[s:e])) != e-s {
			t.Fatalf("MemberSpan(%q, %q) = %d, %d", obj, name, s, e)
		}
	})
}

func TestRawMemberNames(t *testing.T) {
	got := RawMemberNames([]byte(` {"a":1, "n\u0061me" : {"x":[1,"}"]},"c":"\"}"} `))
	if want := []string{"a", `n\u0061me`, "c"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("RawMemberNames = %q, want %q", got, want)
	}
	if got := RawMemberNames([]byte(`{}`)); len(got) != 0 {
		t.Errorf("RawMemberNames({}) = %q", got)
	}
}

// ambiguousKeyByTokens is ambiguousKey as encoding/json's tokens read
// obj: the reading ambiguousKey's own walk must agree with.
func ambiguousKeyByTokens(obj []byte, known []string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := tok.(string)
		folded := strings.ToLower(strings.ToUpper(k))
		if seen[folded] {
			return k, true
		}
		seen[folded] = true
		for _, m := range known {
			if k != m && strings.EqualFold(k, m) {
				return k, true
			}
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return "", false
		}
	}
	return "", false
}

func FuzzAmbiguousKey(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`{"a":1,"A":2}`, `{"Method":"x"}`, `{"a":{"a":1},"b":[{"a":1}]}`, `{"\u0061":1,"a":2}`, `{"K":1,"\u212a":2}`,
		`{"ß":1,"SS":2}`, `{"\u017f":1,"S":2}`, `{"a":"}","b":"\"","c":1}`, ` { "x" : 1 , "X" : 2 } `, `{}`, `[]`,
		`{"1":1,"2":2,"3":3,"4":4,"5":5,"6":6,"7":7,"8":8,"9":9,"10":10,"11":11,"12":12,"13":13,"14":14,"15":15,"16":16,"17":17,"1":0}`,
		"{\"\xff\":1,\"\ufffd\":2}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		if !json.Valid(obj) {
			return
		}
		for _, known := range [][]string{members, paramMembers, nil} {
			k, bad := ambiguousKey(obj, known)
			wk, wbad := ambiguousKeyByTokens(obj, known)
			if k != wk || bad != wbad {
				t.Fatalf("ambiguousKey(%q) = %q %v, by tokens %q %v", obj, k, bad, wk, wbad)
			}
		}
	})
}

// parseByUnmarshal is Parse as it read messages with encoding/json's
// Unmarshal and tokens: FuzzParse holds Parse to it.
func parseByUnmarshal(body []byte) (msg *Message, isBatch bool, err *Error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, false, &Error{Status: http.StatusBadRequest, Code: CodeParseError, Message: "parse error: empty body"}
	}
	if !json.Valid(trimmed) {
		return nil, false, &Error{Status: http.StatusBadRequest, Code: CodeParseError, Message: "parse error: body is not valid JSON"}
	}
	if trimmed[0] == '[' {
		return nil, true, nil
	}
	var raw map[string]json.RawMessage
	if e := json.Unmarshal(trimmed, &raw); e != nil {
		return nil, false, invalid("body is not a JSON-RPC message object")
	}
	// The gateway reads members by their exact names; an upstream may read
	// them case-insensitively, or keep the first of two. A message that
	// could read differently there is refused, so what is decided is what
	// is sent: at the top level, in params, and in params.ref (completion).
	if k, bad := ambiguousKeyByTokens(trimmed, members); bad {
		return nil, false, invalid(fmt.Sprintf("member %q repeats a member or differs from one only in case", k))
	}
	if p := raw["params"]; len(p) > 0 && p[0] == '{' {
		if k, bad := ambiguousKeyByTokens(p, paramMembers); bad {
			return nil, false, invalid(fmt.Sprintf("params member %q repeats a member or differs from one only in case", k))
		}
		var ref struct{ Ref json.RawMessage }
		if json.Unmarshal(p, &ref) == nil && len(ref.Ref) > 0 && ref.Ref[0] == '{' {
			if k, bad := ambiguousKeyByTokens(ref.Ref, refMembers); bad {
				return nil, false, invalid(fmt.Sprintf("params.ref member %q repeats a member or differs from one only in case", k))
			}
		}
	}
	var version string
	if v, ok := raw["jsonrpc"]; !ok || json.Unmarshal(v, &version) != nil || version != "2.0" {
		return nil, false, invalid(`"jsonrpc" must be "2.0"`)
	}
	m := &Message{raw: raw}
	if id, ok := raw["id"]; ok {
		if !validID(id) {
			return nil, false, invalid(`"id" must be a string or a number`)
		}
		m.ID = id
	}
	_, hasResult := raw["result"]
	_, hasError := raw["error"]
	method, hasMethod := raw["method"]
	switch {
	case hasMethod:
		if json.Unmarshal(method, &m.Method) != nil || m.Method == "" {
			return nil, false, invalid(`"method" must be a non-empty string`)
		}
		if p, ok := raw["params"]; ok && !isNull(p) {
			if p[0] != '{' && p[0] != '[' {
				return nil, false, invalid(`"params" must be an object or an array`)
			}
			m.Params = p
		}
		if m.ID == nil {
			m.Kind = KindNotification
		} else {
			m.Kind = KindRequest
		}
	case hasResult || hasError:
		if m.ID == nil {
			return nil, false, invalid(`a response needs an "id"`)
		}
		m.Kind = KindResponse
	default:
		return nil, false, invalid(`message has neither "method" nor "result"/"error"`)
	}
	return m, false, nil
}
