// Package rpc reads the JSON-RPC 2.0 messages MCP clients send and writes
// the JSON-RPC error objects the gateway answers with. It knows nothing
// about Envoy or HTTP routing.
package rpc
