package router

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/namespace"
	"github.com/mcpgw/mcpgw/rpc"
	"github.com/mcpgw/mcpgw/upstreams"
)

// Endpoint is the aggregated MCP endpoint path.
const Endpoint = "/mcp"

// Router holds what routing needs from the config. It is immutable; a
// config reload builds a new one.
type Router struct {
	names     *namespace.Registry
	upstreams map[string]*upstreams.Upstream
	maxBody   int
}

// New builds a router over the given upstreams. maxBody is the largest
// request body in bytes (Envoy enforces the same limit before us).
func New(names *namespace.Registry, ups []*upstreams.Upstream, maxBody int) (*Router, error) {
	r := &Router{names: names, upstreams: make(map[string]*upstreams.Upstream, len(ups)), maxBody: maxBody}
	for _, u := range ups {
		if !names.Has(u.Alias) {
			return nil, fmt.Errorf("router: upstream %q is not in the name registry", u.Alias)
		}
		r.upstreams[u.Alias] = u
	}
	return r, nil
}

// DecideHeaders handles the request-headers phase: pick the endpoint,
// drop forged internal headers and send the request to the sidecar unless
// the body phase reroutes it.
func (r *Router) DecideHeaders(h Headers) Decision {
	path := h.Get(headerPath)
	if !isEndpoint(path) {
		return Decision{Reply: errorReply(&rpc.Error{
			Status: http.StatusNotFound, Code: rpc.CodeInvalidRequest,
			Message: fmt.Sprintf("no MCP endpoint at this path; use %s", Endpoint),
		}, nil)}
	}
	// The route header is overwritten on every request, so a client's
	// forged copy never survives.
	d := Decision{
		SetHeaders: []Header{{wellknown.RouteHeader, wellknown.SidecarCluster}},
		ClearRoute: true,
	}
	if h.Get(headerMethod) == http.MethodDelete {
		d.EndSession = h.Get(headerSessionID)
	}
	return d
}

// isEndpoint reports whether path (query ignored) is the aggregated
// endpoint, with or without a trailing slash.
func isEndpoint(path string) bool {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path == Endpoint || path == Endpoint+"/"
}

// DecideBody handles the buffered request body of a POST.
func (r *Router) DecideBody(h Headers, body []byte) Decision {
	if r.maxBody > 0 && len(body) > r.maxBody {
		return Decision{Reply: errorReply(&rpc.Error{
			Status: http.StatusRequestEntityTooLarge, Code: rpc.CodeInvalidRequest,
			Message: fmt.Sprintf("request body too large (limit %d bytes)", r.maxBody),
		}, nil)}
	}
	msg, batch, perr := rpc.Parse(body)
	if perr != nil {
		return Decision{Reply: errorReply(perr, nil)}
	}
	if batch || msg.Kind != rpc.KindRequest || msg.Method != "tools/call" {
		// Everything but a tools/call is the sidecar's (chosen in the
		// headers phase). Batches are only legal in 2025-03-26; the
		// sidecar's MCP server answers them per its version rules.
		return Decision{}
	}
	return r.routeToolCall(h, msg)
}

func (r *Router) routeToolCall(h Headers, msg *rpc.Message) Decision {
	name, ok := msg.ParamString("name")
	if !ok {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams,
			`invalid params: tools/call needs a string "name"`), msg)}
	}
	alias, tool, ok := r.names.Split(name)
	if !ok {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams,
			fmt.Sprintf("Unknown tool: %s", name)), msg)}
	}
	up := r.upstreams[alias]
	if up == nil || up.Transport != upstreams.TransportHTTP {
		// The sidecar serves stdio and SSE servers itself.
		return Decision{}
	}
	body, err := msg.WithParamString("name", tool)
	if err != nil {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams, "invalid params"), msg)}
	}
	d := Decision{
		Body: body,
		SetHeaders: []Header{
			{wellknown.RouteHeader, up.Cluster},
			{headerPath, up.Path()},
			{headerContentLength, strconv.Itoa(len(body))},
		},
		// The client's session id belongs to the gateway; the caller sets
		// the upstream's own session id, if it has one.
		RemoveHeaders: []string{headerSessionID},
		ClearRoute:    true,
		Call: &Call{
			Upstream:        up,
			ClientSession:   h.Get(headerSessionID),
			ProtocolVersion: h.ProtocolVersion(),
			Method:          msg.Method,
			Name:            tool,
			RequestID:       msg.ID,
		},
	}
	if h.Get(headerMCPName) != "" {
		// 2026-07-28: Mcp-Name must match params.name or the upstream
		// rejects the call (-32020).
		d.SetHeaders = append(d.SetHeaders, Header{headerMCPName, tool})
	}
	for k, v := range up.Headers {
		d.SetHeaders = append(d.SetHeaders, Header{strings.ToLower(k), v})
	}
	return d
}

// protocolError is an MCP protocol error on a well-formed request: HTTP 200
// with the error in the body, except under 2026-07-28, which answers 400.
func protocolError(h Headers, code int, msg string) *rpc.Error {
	status := http.StatusOK
	if !(&Call{ProtocolVersion: h.ProtocolVersion()}).NeedsUpstreamSession() {
		status = http.StatusBadRequest
	}
	return &rpc.Error{Status: status, Code: code, Message: msg}
}

// UpstreamUnavailable is the reply when the gateway cannot reach the
// upstream a call belongs to (its session could not be opened).
func UpstreamUnavailable(call *Call) *Reply {
	return errorReplyID(&rpc.Error{
		Status: http.StatusBadGateway, Code: rpc.CodeInternalError,
		Message: fmt.Sprintf("upstream MCP server %q is unavailable", call.Upstream.Alias),
	}, call.RequestID)
}

func errorReply(e *rpc.Error, msg *rpc.Message) *Reply {
	var id []byte
	if msg != nil {
		id = msg.ID
	}
	return errorReplyID(e, id)
}

func errorReplyID(e *rpc.Error, id []byte) *Reply {
	return &Reply{
		Status:  e.Status,
		Body:    e.Response(id),
		Headers: []Header{{headerContentType, "application/json"}},
	}
}
