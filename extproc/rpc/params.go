package rpc

import "encoding/json"

// ParamRaw returns a top-level field of params as sent ("arguments" of a
// tools/call), or nil when params is not an object or lacks the field.
func (m *Message) ParamRaw(field string) json.RawMessage {
	if len(m.Params) == 0 || m.Params[0] != '{' {
		return nil
	}
	var p map[string]json.RawMessage
	if json.Unmarshal(m.Params, &p) != nil {
		return nil
	}
	return p[field]
}
