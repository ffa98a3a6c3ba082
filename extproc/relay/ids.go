// Package relay carries requests an upstream sends its client
// (elicitation, sampling, roots) on the event stream of a routed call, and
// rewrites that stream for the client: one implementation for the full
// path (extproc/router) and Envoy's fast path (envoy/fastpath).
//
// On /<alias>/mcp the client's answer goes back to that upstream as it is.
// On prefixed scopes the answer names no server, so on the way out each
// such request gets an id that carries the upstream's alias and the
// request's own id, and the answer is routed by it. The id holds all it
// needs, so any replica can route the answer; it is signed, and bound to
// the client's session, so neither an upstream (which could otherwise
// write such an id into its own stream and steer the answer to another
// upstream) nor another client can make one.
package relay

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// IDPrefix starts the ids the gateway gives upstream requests.
const IDPrefix = "mcpgw1."

// tagLen is how much of the HMAC-SHA256 a relayed id carries.
const tagLen = 16

// IDs makes and reads relayed ids with keys shared by the replicas (and
// Envoy's fast path, which makes them too): the first signs, all are
// accepted.
type IDs struct{ keys [][]byte }

// NewIDs returns IDs with keys (at least one; the first signs).
func NewIDs(keys [][]byte) *IDs { return &IDs{keys: keys} }

// tag is the HMAC of what an id stands for, for client session session.
func tag(key []byte, session string, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(session))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:tagLen]
}

// Encode is the id client session session sees for request id raw of
// upstream alias: a JSON string.
func (r *IDs) Encode(session, alias string, raw json.RawMessage) json.RawMessage {
	payload := append([]byte(alias+"\x00"), raw...)
	id, _ := json.Marshal(IDPrefix + base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(tag(r.keys[0], session, payload)))
	return id
}

// Decode reverses Encode for client session session; ok is false for any
// id the gateway did not make for that session.
func (r *IDs) Decode(session string, id json.RawMessage) (alias string, raw json.RawMessage, ok bool) {
	var s string
	if json.Unmarshal(id, &s) != nil {
		return "", nil, false
	}
	enc, found := strings.CutPrefix(s, IDPrefix)
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
	t, err := base64.RawURLEncoding.DecodeString(encTag)
	if err != nil || len(t) != tagLen {
		return "", nil, false
	}
	signed := false
	for _, k := range r.keys {
		signed = signed || hmac.Equal(t, tag(k, session, payload))
	}
	a, rid, found := bytes.Cut(payload, []byte{0})
	if !signed || !found || len(a) == 0 || !ValidID(rid) {
		return "", nil, false
	}
	return string(a), rid, true
}

// ValidID reports whether raw is a JSON-RPC id: a string or a number.
func ValidID(raw []byte) bool {
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
