package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
)

// modernMetaKeys are the per-request _meta entries of protocol 2026-07-28
// (SEP-2575): a server of an older version that sees them takes the
// request for a 2026-07-28 one.
var modernMetaKeys = []string{
	"io.modelcontextprotocol/protocolVersion",
	"io.modelcontextprotocol/clientInfo",
	"io.modelcontextprotocol/clientCapabilities",
	"io.modelcontextprotocol/logLevel",
}

// StripModernMeta returns body without the 2026-07-28 per-request _meta
// entries in params; everything else is kept. A body without them is
// returned unchanged.
func StripModernMeta(body []byte) ([]byte, error) {
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, err
	}
	var params map[string]json.RawMessage
	if p, ok := msg["params"]; !ok || json.Unmarshal(p, &params) != nil {
		return body, nil
	}
	var meta map[string]json.RawMessage
	if m, ok := params["_meta"]; !ok || json.Unmarshal(m, &meta) != nil {
		return body, nil
	}
	changed := false
	for _, k := range modernMetaKeys {
		if _, ok := meta[k]; ok {
			delete(meta, k)
			changed = true
		}
	}
	if !changed {
		return body, nil
	}
	if len(meta) == 0 {
		delete(params, "_meta")
	} else {
		m, err := json.Marshal(meta)
		if err != nil {
			return nil, err
		}
		params["_meta"] = m
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	msg["params"] = p
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, err
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}

// WithMeta returns body (one JSON-RPC request) with the string members
// of entries set in params._meta: params and _meta are made when absent,
// every other member is kept as sent. A body whose params or _meta is
// not an object is refused, not rewritten.
func WithMeta(body []byte, entries map[string]string) ([]byte, error) {
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, err
	}
	if msg == nil {
		return nil, errors.New("rpc: message is not an object")
	}
	params := map[string]json.RawMessage{}
	if p, ok := msg["params"]; ok && !isNull(p) {
		if err := json.Unmarshal(p, &params); err != nil || params == nil {
			return nil, errors.New("rpc: params is not an object")
		}
	}
	meta := map[string]json.RawMessage{}
	if m, ok := params["_meta"]; ok && !isNull(m) {
		if err := json.Unmarshal(m, &meta); err != nil || meta == nil {
			return nil, errors.New("rpc: params._meta is not an object")
		}
	}
	for k, v := range entries {
		s, err := marshal(v)
		if err != nil {
			return nil, err
		}
		meta[k] = s
	}
	m, err := marshal(meta)
	if err != nil {
		return nil, err
	}
	params["_meta"] = m
	p, err := marshal(params)
	if err != nil {
		return nil, err
	}
	msg["params"] = p
	return marshal(msg)
}

// marshal encodes v as JSON without escaping <, > and & (what a client
// sent stays as it was).
func marshal(v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(out.Bytes(), "\n"), nil
}
