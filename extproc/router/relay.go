package router

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Requests an upstream sends its client (elicitation, sampling, roots)
// travel on the event stream of a routed call. On /<alias>/mcp the
// client's answer goes back to that upstream as it is (passthrough.go).
// On prefixed scopes the answer names no server, so on the way out the
// gateway gives each such request an id that carries the upstream's alias
// and the request's own id, and routes the answer by it. The id holds all
// it needs, so any replica can route the answer; it is signed, and bound
// to the client's session, so neither an upstream (which could otherwise
// write such an id into its own stream and steer the answer to another
// upstream) nor another client can make one.

// relayIDPrefix starts the ids the gateway gives upstream requests.
const relayIDPrefix = "mcpgw1."

// relayTagLen is how much of the HMAC-SHA256 a relayed id carries.
const relayTagLen = 16

// relayIDs makes and reads relayed ids with keys shared by the replicas
// (WithRelayKeys): the first signs, all are accepted.
type relayIDs struct{ keys [][]byte }

// tag is the HMAC of what an id stands for, for client session session.
func relayTag(key []byte, session string, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(session))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:relayTagLen]
}

// encode is the id client session session sees for request id raw of
// upstream alias: a JSON string.
func (r *relayIDs) encode(session, alias string, raw json.RawMessage) json.RawMessage {
	payload := append([]byte(alias+"\x00"), raw...)
	id, _ := json.Marshal(relayIDPrefix + base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(relayTag(r.keys[0], session, payload)))
	return id
}

// decode reverses encode for client session session; ok is false for any
// id the gateway did not make for that session.
func (r *relayIDs) decode(session string, id json.RawMessage) (alias string, raw json.RawMessage, ok bool) {
	var s string
	if json.Unmarshal(id, &s) != nil {
		return "", nil, false
	}
	enc, found := strings.CutPrefix(s, relayIDPrefix)
	if !found {
		return "", nil, false
	}
	encPayload, encTag, found := strings.Cut(enc, ".")
	if !found {
		return "", nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(encPayload)
	if err != nil {
		return "", nil, false
	}
	tag, err := base64.RawURLEncoding.DecodeString(encTag)
	if err != nil || len(tag) != relayTagLen {
		return "", nil, false
	}
	signed := false
	for _, k := range r.keys {
		signed = signed || hmac.Equal(tag, relayTag(k, session, payload))
	}
	a, rid, found := bytes.Cut(payload, []byte{0})
	if !signed || !found || len(a) == 0 || !validRelayedID(rid) {
		return "", nil, false
	}
	return string(a), rid, true
}

// validRelayedID reports whether raw is a JSON-RPC id: a string or a
// number.
func validRelayedID(raw []byte) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	switch v.(type) {
	case string, float64:
		return true
	}
	return false
}

// maxPendingLine bounds the part of an event stream held back while a
// line is incomplete; a longer line passes unchanged.
const maxPendingLine = 16 << 20

// Relay rewrites one routed call's response event stream, chunk by chunk
// (Envoy's chunks do not follow lines: an incomplete line waits for the
// next chunk), message by message (Answer does the same for a JSON
// answer). What it does depends on the call (NewRelay):
//
//   - a client on a prefixed scope that can be asked (Call.RelayRequests):
//     the upstream's requests get ids that carry the upstream's alias (and
//     the upstream's cancellations of them the same ids);
//   - a 2026-07-28 client on an older upstream (Call.Downgraded): results
//     get resultType, and the upstream's requests are taken out of the
//     stream: such a client answers none (it expects them in an
//     input_required result, which the gateway does not translate yet), so
//     the caller declines them to the upstream (Declined, DeclineBody),
//     which would otherwise wait for an answer forever;
//   - a resources/read on a prefixed scope (Call.URIPrefix): the URIs of
//     the contents get the prefix the client knows them by.
type Relay struct {
	alias     string // relay request ids for this upstream ("": no)
	ids       *relayIDs
	session   string // the client session relayed ids are bound to
	downgrade bool
	uriPrefix string
	pending   []byte
	declined  []Declined
}

// Declined is an upstream request taken out of a downgraded stream.
type Declined struct {
	ID     json.RawMessage
	Method string
}

// NewRelay returns the relay call's answer needs, or nil for none.
func NewRelay(call *Call) *Relay {
	r := &Relay{downgrade: call.Downgraded, uriPrefix: call.URIPrefix}
	if call.RelayRequests && call.relayIDs != nil && !call.Downgraded {
		r.alias, r.ids, r.session = call.Upstream.Alias, call.relayIDs, call.ClientSession
	}
	if r.alias == "" && !r.downgrade && r.uriPrefix == "" {
		return nil
	}
	return r
}

// Declined returns the requests taken out of the stream since the last
// call.
func (r *Relay) Declined() []Declined {
	d := r.declined
	r.declined = nil
	return d
}

// DeclineBody is the answer the gateway sends the upstream for a request
// its client cannot answer.
func DeclineBody(d Declined) []byte {
	e := &rpc.Error{Code: rpc.CodeMethodNotFound,
		Message: fmt.Sprintf("%s: the client speaks MCP 2026-07-28, and the gateway does not bridge server requests to it yet", d.Method)}
	return e.Response(d.ID)
}

// Chunk returns what to send the client for the next chunk of the stream;
// end flushes whatever is held back.
func (r *Relay) Chunk(data []byte, end bool) []byte {
	buf := append(r.pending, data...)
	cut := bytes.LastIndexByte(buf, '\n') + 1
	if end || len(buf)-cut > maxPendingLine {
		cut = len(buf)
	}
	out := rpc.RewriteEventData(buf[:cut], r.rewrite)
	r.pending = append(r.pending[:0:0], buf[cut:]...)
	return out
}

// Answer rewrites a whole JSON answer (one message).
func (r *Relay) Answer(body []byte) []byte {
	if out, ok := r.rewrite(body); ok && out != nil {
		return out
	}
	return body
}

// rewrite handles one message of the stream.
func (r *Relay) rewrite(msg []byte) ([]byte, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil {
		return nil, false
	}
	id, hasID := m["id"]
	method, hasMethod := m["method"]
	switch {
	case hasMethod && hasID && validRelayedID(id): // a request of the upstream
		if r.downgrade {
			var name string
			json.Unmarshal(method, &name)
			r.declined = append(r.declined, Declined{ID: id, Method: name})
			return nil, true // out of the stream
		}
		if r.alias == "" {
			return nil, false
		}
		m["id"] = r.ids.encode(r.session, r.alias, id)
	case hasMethod: // a notification
		if r.alias == "" || !r.relayCancel(m, method) {
			return nil, false
		}
	default: // the answer
		changed := r.prefixURIs(m)
		if r.downgrade {
			if up, ok := upgradeResult(m); ok {
				m["result"] = up
				changed = true
			}
		}
		if !changed {
			return nil, false
		}
	}
	out, err := json.Marshal(m)
	return out, err == nil
}

// upgradeResult is rpc.UpgradeResult on a decoded message's result.
func upgradeResult(m map[string]json.RawMessage) (json.RawMessage, bool) {
	wrapped, err := json.Marshal(map[string]json.RawMessage{"result": m["result"]})
	if err != nil || m["result"] == nil {
		return nil, false
	}
	out, ok := rpc.UpgradeResult(wrapped)
	if !ok {
		return nil, false
	}
	var w map[string]json.RawMessage
	if json.Unmarshal(out, &w) != nil {
		return nil, false
	}
	return w["result"], true
}

// prefixURIs puts the prefix before every result.contents[].uri.
func (r *Relay) prefixURIs(m map[string]json.RawMessage) bool {
	if r.uriPrefix == "" || m["result"] == nil {
		return false
	}
	var result map[string]json.RawMessage
	if json.Unmarshal(m["result"], &result) != nil {
		return false
	}
	var contents []map[string]json.RawMessage
	if json.Unmarshal(result["contents"], &contents) != nil {
		return false
	}
	changed := false
	for _, c := range contents {
		var uri string
		if json.Unmarshal(c["uri"], &uri) != nil || uri == "" {
			continue
		}
		c["uri"], _ = json.Marshal(r.uriPrefix + uri)
		changed = true
	}
	if !changed {
		return false
	}
	result["contents"], _ = json.Marshal(contents)
	out, err := json.Marshal(result)
	if err != nil {
		return false
	}
	m["result"] = out
	return true
}

// relayCancel gives an upstream's notifications/cancelled the relayed id
// of the request it cancels, which is the id the client knows.
func (r *Relay) relayCancel(m map[string]json.RawMessage, method json.RawMessage) bool {
	if string(method) != `"notifications/cancelled"` {
		return false
	}
	var params map[string]json.RawMessage
	if json.Unmarshal(m["params"], &params) != nil {
		return false
	}
	id, ok := params["requestId"]
	if !ok || !validRelayedID(id) {
		return false
	}
	params["requestId"] = r.ids.encode(r.session, r.alias, id)
	p, err := json.Marshal(params)
	if err != nil {
		return false
	}
	m["params"] = p
	return true
}

// routeAnswer routes a client's answer to a request an upstream sent it
// on a prefixed scope, by the id the gateway gave the request. Answers
// with other ids stay with the sidecar (which drops them).
func (r *Router) routeAnswer(h Headers, p *identity.Principal, scope namespace.Scope, msg *rpc.Message) Decision {
	alias, id, ok := r.relayIDs.decode(h.Get(headerSessionID), msg.ID)
	if !ok || !slices.Contains(scope.Servers, alias) {
		return Decision{}
	}
	up := r.upstreams[alias]
	if up == nil || !up.Routable() {
		return Decision{}
	}
	if r.authz != nil && !r.authz.Visible(policy.Request{Principal: p, Server: alias, Scope: scope, Path: h.Get(headerPath), Header: h.Get}) {
		return Decision{Reply: errorReply(&rpc.Error{Status: http.StatusForbidden, Code: rpc.CodeForbidden,
			Message: "Access denied: this key may not use the MCP servers of this endpoint"}, msg)}
	}
	body, err := msg.WithID(id)
	if err != nil {
		return Decision{}
	}
	return r.forward(h, up, msg, body, "")
}
