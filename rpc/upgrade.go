package rpc

import (
	"bytes"
	"encoding/json"
	"mime"
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

func upgradeEvents(body []byte) []byte {
	lines := bytes.SplitAfter(body, []byte("\n"))
	var out bytes.Buffer
	for _, line := range lines {
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			out.Write(line)
			continue
		}
		nl := ""
		if bytes.HasSuffix(data, []byte("\n")) {
			nl = "\n"
			data = data[:len(data)-1]
		}
		data = bytes.TrimSuffix(data, []byte("\r"))
		payload := bytes.TrimPrefix(data, []byte(" "))
		if up, ok := upgradeMessage(payload); ok {
			out.WriteString("data: ")
			out.Write(up)
			out.WriteString(nl)
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}

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
