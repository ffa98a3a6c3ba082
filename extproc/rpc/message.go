package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Kind says what a JSON-RPC message is.
type Kind int

const (
	KindRequest      Kind = iota + 1 // has method and id
	KindNotification                 // has method, no id
	KindResponse                     // has result or error, and id
)

// Message is one parsed JSON-RPC message. Params stays raw so the gateway
// rewrites only what it must.
type Message struct {
	Kind   Kind
	ID     json.RawMessage // raw id, as sent (number or string)
	Method string
	Params json.RawMessage
	raw    map[string]json.RawMessage
	params map[string]json.RawMessage // Params's members, when an object
}

// Parse reads a single JSON-RPC message from body. A JSON array (a batch)
// is reported through isBatch with no messages decoded: batches are only
// legal in protocol 2025-03-26 and are handled by the caller. The message
// holds parts of body: body must not change while it is in use.
func Parse(body []byte) (msg *Message, isBatch bool, err *Error) {
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
	if trimmed[0] != '{' && trimmed[0] != 'n' { // null reads as no members
		return nil, false, invalid("body is not a JSON-RPC message object")
	}
	// The gateway reads members by their exact names; an upstream may read
	// them case-insensitively, or keep the first of two. A message that
	// could read differently there is refused, so what is decided is what
	// is sent: at the top level, in params, and in params.ref (completion).
	raw, k, bad := objectMembers(trimmed, members)
	if bad {
		return nil, false, invalid(fmt.Sprintf("member %q repeats a member or differs from one only in case", k))
	}
	var params map[string]json.RawMessage
	if p := raw["params"]; len(p) > 0 && p[0] == '{' {
		if params, k, bad = objectMembers(p, paramMembers); bad {
			return nil, false, invalid(fmt.Sprintf("params member %q repeats a member or differs from one only in case", k))
		}
		if ref := params["ref"]; len(ref) > 0 && ref[0] == '{' {
			if k, bad := ambiguousKey(ref, refMembers); bad {
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
			m.Params, m.params = p, params
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

// ParseBatch reads the messages of a JSON-RPC batch (a JSON array), each
// by Parse's rules. An empty batch, or a member that is itself an array,
// is invalid.
func ParseBatch(body []byte) ([]*Message, *Error) {
	var items []json.RawMessage
	if json.Unmarshal(body, &items) != nil {
		return nil, invalid("a batch must be a JSON array")
	}
	if len(items) == 0 {
		return nil, invalid("empty batch")
	}
	msgs := make([]*Message, 0, len(items))
	for _, it := range items {
		m, nested, err := Parse(it)
		if err != nil {
			return nil, err
		}
		if nested {
			return nil, invalid("a batch may not contain a batch")
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// The members the gateway reads, by their exact names: of a JSON-RPC
// message, of its params (what routing and the policy decide on), and of
// a completion's params.ref. A member that is one of them but for case
// ("Method", a lone "Arguments") is refused even without its twin: an
// upstream reading names case-insensitively would act on what the
// gateway never saw.
var (
	members      = []string{"jsonrpc", "id", "method", "params", "result", "error"}
	paramMembers = []string{"name", "arguments", "uri", "ref", "_meta"}
	refMembers   = []string{"type", "name", "uri"}
)

// objectMembers reads the members of the JSON object obj (valid JSON;
// null has none) as json.Unmarshal into a map would, and finds a key that
// repeats another, or equals it but for case, or equals one of known but
// for case (ambiguous, bad). It runs on every message, so it walks obj's
// top level itself (FuzzAmbiguousKey and FuzzParse hold it to
// encoding/json's reading). The values are parts of obj.
func objectMembers(obj []byte, known []string) (m map[string]json.RawMessage, ambiguous string, bad bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, "", false
	}
	m = make(map[string]json.RawMessage, 8)
	var seen nameSet // folded
	for i++; ; {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return m, "", false
		}
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		end := stringEnd(obj, i)
		k, err := jsonString(obj[i:end])
		if err != nil {
			return nil, "", false
		}
		start := skipSpace(obj, skipSpace(obj, end)+1) // past ':'
		i = valueEnd(obj, start)
		// (A number or literal ends where the next member starts: the
		// space before that is not the value's.)
		end = trimSpaceEnd(obj, start, i)
		m[k] = json.RawMessage(obj[start:end:end])
		if !seen.add(foldKey(k)) {
			return m, k, true
		}
		for _, kn := range known {
			if k != kn && strings.EqualFold(k, kn) {
				return m, k, true
			}
		}
	}
}

// ambiguousKey is objectMembers's finding alone.
func ambiguousKey(obj []byte, known []string) (string, bool) {
	_, k, bad := objectMembers(obj, known)
	return k, bad
}

// foldKey is k with Unicode simple folding, as strings.EqualFold and Go's
// own JSON decoder compare case: lower case of upper case, which for ASCII
// is lower case.
func foldKey(k string) string {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c >= utf8.RuneSelf {
			return strings.ToLower(strings.ToUpper(k))
		} else if 'A' <= c && c <= 'Z' {
			return strings.ToLower(k)
		}
	}
	return k
}

func invalid(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "invalid request: " + msg}
}

func validID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	switch id[0] {
	case '"':
		return true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

// ParamString returns the string at params.<path> (["name"],
// ["ref", "uri"]).
func (m *Message) ParamString(path ...string) (string, bool) {
	v := m.Params
	for i, field := range path {
		if len(v) == 0 || v[0] != '{' {
			return "", false
		}
		var obj map[string]json.RawMessage
		if i == 0 && m.params != nil {
			obj = m.params
		} else if json.Unmarshal(v, &obj) != nil {
			return "", false
		}
		var ok bool
		if v, ok = obj[field]; !ok {
			return "", false
		}
	}
	var s string
	if len(path) == 0 || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// WithParamString returns the message re-encoded with params.<path> set
// to value; every other member is kept as sent. The objects on the way
// must exist.
func (m *Message) WithParamString(value string, path ...string) ([]byte, error) {
	if len(path) == 0 {
		return nil, errors.New("rpc: no param path")
	}
	params, err := withString(m.Params, value, path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(m.raw))
	for k, v := range m.raw {
		out[k] = v
	}
	out["params"] = params
	return json.Marshal(out)
}

// WithID returns the message re-encoded with id as its id; every other
// member is kept as sent.
func (m *Message) WithID(id json.RawMessage) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(m.raw))
	for k, v := range m.raw {
		out[k] = v
	}
	out["id"] = id
	return json.Marshal(out)
}

// withString returns obj (a JSON object) with the string at path set.
func withString(obj json.RawMessage, value string, path []string) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, errors.New("rpc: params path is not an object")
	}
	var v json.RawMessage
	var err error
	if len(path) == 1 {
		v, err = json.Marshal(value)
	} else {
		v, err = withString(fields[path[0]], value, path[1:])
	}
	if err != nil {
		return nil, err
	}
	fields[path[0]] = v
	return json.Marshal(fields)
}

// Has reports whether the message has the top-level member name, as
// Parse read it (whatever its value, null included).
func (m *Message) Has(name string) bool {
	_, ok := m.raw[name]
	return ok
}

// ParamRaw returns a top-level field of params as sent ("arguments" of a
// tools/call), or nil when params is not an object or lacks the field.
func (m *Message) ParamRaw(field string) json.RawMessage {
	if len(m.Params) == 0 || m.Params[0] != '{' {
		return nil
	}
	if m.params != nil {
		return m.params[field]
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(m.Params, &p) != nil {
		return nil
	}
	return p[field]
}
