package rpc

import (
	"bytes"
	"encoding/json"
	"mime"
	"slices"
	"strings"
)

// UpgradeResults adapts an older server's answer for a 2026-07-28 client:
// every JSON-RPC result object gets resultType "complete" unless it has a
// resultType. The body is one JSON message (application/json) or an SSE
// stream (text/event-stream) whose data lines carry messages. Anything it
// cannot read is passed through unchanged.
func UpgradeResults(body []byte, contentType string) []byte {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/json":
		if out, ok := upgradeMessage(body); ok {
			return out
		}
	case "text/event-stream":
		return upgradeEvents(body)
	}
	return body
}

func upgradeEvents(body []byte) []byte { return RewriteEventData(body, upgradeMessage) }

// RewriteEventData rewrites the data lines of SSE event text, each taken
// as one JSON-RPC message: f returns the new message (nil: drop the line,
// so the event carries no data and is not dispatched), or false to leave
// the line as it is. Other lines, and a last line without its newline,
// pass unchanged. (MCP SDKs write a message on one data line; a message
// split over several data lines is not rewritten.)
func RewriteEventData(text []byte, f func(msg []byte) ([]byte, bool)) []byte {
	var out bytes.Buffer
	out.Grow(len(text))
	for line := range bytes.SplitAfterSeq(text, []byte("\n")) {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok || !bytes.HasSuffix(data, []byte("\n")) {
			out.Write(line)
			continue
		}
		data = bytes.TrimSuffix(data[:len(data)-1], []byte("\r"))
		if msg, ok := f(bytes.TrimPrefix(data, []byte(" "))); ok {
			if msg == nil {
				continue
			}
			out.WriteString("data: ")
			out.Write(msg)
			out.WriteString("\n")
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}

// UpgradeResult is UpgradeResults for one JSON-RPC message: false when it
// is not a response with a result object, or already has a resultType.
func UpgradeResult(msg []byte) ([]byte, bool) { return upgradeMessage(msg) }

// upgradeMessage adds resultType to a JSON-RPC response's result; ok is
// false when msg is not such a response or already has one.
func upgradeMessage(msg []byte) ([]byte, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(msg, &m) != nil {
		return nil, false
	}
	res, ok := m["result"]
	if !ok || !strings.HasPrefix(strings.TrimSpace(string(res)), "{") {
		return nil, false
	}
	var r map[string]json.RawMessage
	if json.Unmarshal(res, &r) != nil {
		return nil, false
	}
	if _, has := r["resultType"]; has {
		return nil, false
	}
	r["resultType"] = json.RawMessage(`"complete"`)
	nr, err := json.Marshal(r)
	if err != nil {
		return nil, false
	}
	m["result"] = nr
	out, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	return out, true
}

// ProtocolVersions are the MCP protocol versions the gateway speaks with
// clients, newest first.
func ProtocolVersions() []string {
	return []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}
}

// KnownProtocolVersion reports whether v is one of ProtocolVersions.
func KnownProtocolVersion(v string) bool { return slices.Contains(ProtocolVersions(), v) }
