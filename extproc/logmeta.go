package extproc

import (
	"encoding/json"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy"
)

// requestIDHeader is the id Envoy gives every request (generated unless
// a trusted client sent one); the access log, the decision log and the
// service's own lines carry it, so they join on it.
const requestIDHeader = policy.RequestIDHeader

// requestID is the request's id, "" before its headers arrived.
func (st *requestState) requestID() string { return st.headers.Get(requestIDHeader) }

// requestMeta is what the service tells Envoy's access log about one
// request (as dynamic metadata, wellknown.MetadataNamespace): set when
// something new is known, sent with the next message's response.
type requestMeta struct {
	dirty bool
	// rpcError is the JSON-RPC error code of an answer the gateway gave
	// itself (hasRPCError says whether there is one).
	rpcError    int
	hasRPCError bool
}

// noteReply records the error code of an answer the gateway gives.
func (st *requestState) noteReply(r *router.Reply) {
	st.trace.status = r.Status
	if code, ok := replyCode(r); ok {
		st.meta.rpcError, st.meta.hasRPCError = code, true
	}
	st.meta.dirty = true
}

// dynamicMetadata is the metadata to send with resp, nil when nothing new
// is known. Keys the service does not know are left out (null in the
// access log).
func (st *requestState) dynamicMetadata() *structpb.Struct {
	if !st.meta.dirty {
		return nil
	}
	st.meta.dirty = false
	fields := make(map[string]*structpb.Value, 6)
	if st.caller != nil && st.caller.Principal != nil && !st.caller.Principal.Anonymous {
		fields["key_alias"] = structpb.NewStringValue(st.caller.Principal.ID)
	}
	m := &st.metrics
	if m.method != "" {
		fields["mcp_method"] = structpb.NewStringValue(m.method)
	}
	if m.server != "" {
		fields["server"] = structpb.NewStringValue(m.server)
	}
	if m.tool != "" {
		fields["tool"] = structpb.NewStringValue(m.tool)
	}
	if st.meta.hasRPCError {
		fields["jsonrpc_error"] = structpb.NewNumberValue(float64(st.meta.rpcError))
	}
	if m.toolErr {
		fields["is_error"] = structpb.NewBoolValue(true)
	}
	if len(fields) == 0 {
		return nil
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		wellknown.MetadataNamespace: structpb.NewStructValue(&structpb.Struct{Fields: fields}),
	}}
}

// replyCode is the JSON-RPC error code of an answer the gateway gives.
func replyCode(r *router.Reply) (int, bool) {
	var e struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &e) != nil || e.Error == nil {
		return 0, false
	}
	return e.Error.Code, true
}
