package fastpath

import (
	"encoding/json"
	"strconv"

	"github.com/mcpgw/mcpgw/extproc/rpc"
)

// maxListBody is the largest list request sent to the sidecar directly
// (envoy/directlist.go; the list candidate route checks the
// Content-Length too).
const maxListBody = 4096

// listMethods are the list methods the sidecar answers from its discovery
// cache: a request for one of them may go to the sidecar directly.
var listMethods = map[string]bool{"tools/list": true, "prompts/list": true, "resources/list": true, "resources/templates/list": true}

// MayList reports whether a request with these headers may be a list for
// the sidecar's direct route, so that its body must be read: on the list
// candidate route, or an older client's (no Mcp-Method) on a call's
// candidate route where lists go to the sidecar directly.
func (r *Route) MayList(h Headers) bool {
	if r.mode == ModeList {
		return true
	}
	_, n := h.Get("mcp-method")
	return r.lists && n == 0
}

// IsList reports whether body is one plain JSON-RPC request for a list
// method. It decides nothing: the sidecar then runs the full path's
// decision itself (extproc.Server.DecideDirect), and only ever serves a
// request that decision sends it.
func IsList(body []byte) bool {
	if len(body) > maxListBody {
		return false
	}
	msg := plainRequest(body)
	if msg == nil || !listMethods[msg.Method] {
		return false
	}
	// params absent or an object (not null).
	if msg.Has("params") && (len(msg.Params) == 0 || msg.Params[0] != '{') {
		return false
	}
	_, ok := requestID(msg.ID)
	return ok
}

// UnreadableAnswer is the full path's 502 for an upstream's answer no MCP
// client can read (rpc.UnreadableAnswer), for a call the fast path
// decided: its body, or nil for an answer that passes.
func (d *Decision) UnreadableAnswer(code int, contentType string) []byte {
	if !rpc.UnreadableAnswer(code, contentType) {
		return nil
	}
	return rpc.UnreadableAnswerError(d.Server, code, contentType).Response(json.RawMessage(d.ID))
}

// DirectLogHeaders are the response headers in which the sidecar tells
// the access log, on the direct route only, what ext_proc would have
// (its key alias, JSON-RPC method and error), by the dynamic metadata key
// they go to. They never reach the client.
var DirectLogHeaders = map[string]string{
	"x-mcpgw-log-key-alias":     "key_alias",
	"x-mcpgw-log-mcp-method":    "mcp_method",
	"x-mcpgw-log-jsonrpc-error": "jsonrpc_error",
}

// JSONRPCError reads the x-mcpgw-log-jsonrpc-error value.
func JSONRPCError(v string) (float64, bool) {
	n, err := strconv.Atoi(v)
	return float64(n), err == nil
}
