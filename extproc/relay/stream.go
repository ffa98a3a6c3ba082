package relay

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// maxPendingLine bounds the part of an event stream held back while a
// line is incomplete; a longer line passes unchanged.
const maxPendingLine = 16 << 20

// Options say what a Stream does to one call's answer.
type Options struct {
	// Alias, IDs and Session: a client on a prefixed scope that can be
	// asked. The upstream alias's requests get ids (IDs.Encode) bound to
	// the client session Session, and the upstream's cancellations of
	// them the same ids. Alias "" relays no ids.
	Alias   string
	IDs     *IDs
	Session string
	// Downgrade: a 2026-07-28 client on an older upstream. Results get
	// resultType, and the upstream's requests are taken out of the
	// stream: such a client answers none (it expects them in an
	// input_required result, which the gateway does not translate yet),
	// so the caller declines them to the upstream (Stream.Declined,
	// DeclineBody), which would otherwise wait for an answer forever.
	// Ids are not relayed then.
	Downgrade bool
	// URIPrefix: a resources/read on a prefixed scope. The URIs of the
	// contents get the prefix the client knows them by.
	URIPrefix string
}

// Stream rewrites one routed call's response event stream, chunk by chunk
// (Envoy's chunks do not follow lines: an incomplete line waits for the
// next chunk), message by message (Answer does the same for a JSON
// answer), as its Options say.
type Stream struct {
	alias     string
	ids       *IDs
	session   string
	downgrade bool
	uriPrefix string
	pending   []byte
	declined  []Declined
}

// New returns the Stream for o, or nil when o asks for nothing.
func New(o Options) *Stream {
	s := &Stream{downgrade: o.Downgrade, uriPrefix: o.URIPrefix}
	if o.Alias != "" && o.IDs != nil && !o.Downgrade {
		s.alias, s.ids, s.session = o.Alias, o.IDs, o.Session
	}
	if s.alias == "" && !s.downgrade && s.uriPrefix == "" {
		return nil
	}
	return s
}

// Declined is an upstream request taken out of a downgraded stream.
type Declined struct {
	ID     json.RawMessage
	Method string
}

// Declined returns the requests taken out of the stream since the last
// call.
func (s *Stream) Declined() []Declined {
	d := s.declined
	s.declined = nil
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
func (s *Stream) Chunk(data []byte, end bool) []byte {
	buf := append(s.pending, data...)
	cut := bytes.LastIndexByte(buf, '\n') + 1
	if end || len(buf)-cut > maxPendingLine {
		cut = len(buf)
	}
	out := rpc.RewriteEventData(buf[:cut], s.rewrite)
	s.pending = append(s.pending[:0:0], buf[cut:]...)
	return out
}

// Answer rewrites a whole JSON answer (one message).
func (s *Stream) Answer(body []byte) []byte {
	if out, ok := s.rewrite(body); ok && out != nil {
		return out
	}
	return body
}

// rewrite handles one message of the stream.
func (s *Stream) rewrite(msg []byte) ([]byte, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil {
		return nil, false
	}
	id, hasID := m["id"]
	method, hasMethod := m["method"]
	switch {
	case hasMethod && hasID && ValidID(id): // a request of the upstream
		if s.downgrade {
			var name string
			json.Unmarshal(method, &name)
			s.declined = append(s.declined, Declined{ID: id, Method: name})
			return nil, true // out of the stream
		}
		if s.alias == "" {
			return nil, false
		}
		m["id"] = s.ids.Encode(s.session, s.alias, id)
	case hasMethod: // a notification
		if s.alias == "" || !s.relayCancel(m, method) {
			return nil, false
		}
	default: // the answer
		changed := s.prefixURIs(m)
		if s.downgrade {
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
func (s *Stream) prefixURIs(m map[string]json.RawMessage) bool {
	if s.uriPrefix == "" || m["result"] == nil {
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
		c["uri"], _ = json.Marshal(s.uriPrefix + uri)
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
func (s *Stream) relayCancel(m map[string]json.RawMessage, method json.RawMessage) bool {
	if string(method) != `"notifications/cancelled"` {
		return false
	}
	var params map[string]json.RawMessage
	if json.Unmarshal(m["params"], &params) != nil {
		return false
	}
	id, ok := params["requestId"]
	if !ok || !ValidID(id) {
		return false
	}
	params["requestId"] = s.ids.Encode(s.session, s.alias, id)
	p, err := json.Marshal(params)
	if err != nil {
		return false
	}
	m["params"] = p
	return true
}
