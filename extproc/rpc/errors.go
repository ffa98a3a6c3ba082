package rpc

import "encoding/json"

// JSON-RPC and MCP error codes the gateway emits.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeSessionNotFound is what MCP SDKs answer (with HTTP 404) for an
	// unknown or expired session.
	CodeSessionNotFound = -32001
	// CodeUnauthorized (HTTP 401) and CodeForbidden (HTTP 403) are the
	// gateway's own: a missing or invalid gateway key, and a key that may
	// not do what it asked.
	CodeUnauthorized = -32041
	CodeForbidden    = -32043
	// CodeHeaderMismatch is MCP 2026-07-28's answer (with HTTP 400) to a
	// request whose Mcp-Method or Mcp-Name header is missing or says
	// other than its body.
	CodeHeaderMismatch = -32020
)

// Error is a JSON-RPC error object with the HTTP status it is sent with.
type Error struct {
	Status  int    // HTTP status of the reply
	Code    int    // JSON-RPC error code
	Message string // shown to the client: never put secrets here
}

func (e *Error) Error() string { return e.Message }

// Response is the JSON-RPC error response for request id (nil or absent id
// is rendered as null, as JSON-RPC requires when the id is unknown).
func (e *Error) Response(id json.RawMessage) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{e.Code, e.Message}})
	if err != nil {
		// Only reachable with an invalid id, which Parse never yields.
		return []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}`)
	}
	return b
}
