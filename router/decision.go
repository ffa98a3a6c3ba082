package router

import "github.com/mcpgw/mcpgw/upstreams"

// Header is one header to set. Names are lower-case.
type Header struct {
	Name  string
	Value string
}

// Reply answers the client directly instead of forwarding the request.
type Reply struct {
	Status  int
	Body    []byte // a JSON-RPC error response
	Headers []Header
}

// Decision is what to do with one phase of one request.
type Decision struct {
	// Reply, if set, ends the request with this answer; nothing else applies.
	Reply *Reply
	// SetHeaders and RemoveHeaders mutate the request headers.
	SetHeaders    []Header
	RemoveHeaders []string
	// Body, if non-nil, replaces the request body (content-length is
	// already among SetHeaders).
	Body []byte
	// ClearRoute asks Envoy to route again on the mutated headers.
	ClearRoute bool
	// Call is set when the request is a call that goes straight to one
	// upstream; the caller must attach that upstream's session.
	Call *Call
	// EndSession is the client session id a DELETE ends ("" if none).
	EndSession string
}

// Call describes a request routed to one upstream.
type Call struct {
	Upstream *upstreams.Upstream
	// ClientSession is the gateway session id the client sent ("" if none).
	ClientSession string
	// ProtocolVersion is the MCP protocol version the client speaks.
	ProtocolVersion string
	// Method and Name are the JSON-RPC method and the unprefixed name.
	Method, Name string
	// RequestID is the JSON-RPC id, for error replies about this call.
	RequestID []byte
}

// NeedsUpstreamSession reports whether the call must carry an upstream
// session id: every protocol version before 2026-07-28 has sessions.
func (c *Call) NeedsUpstreamSession() bool { return c.ProtocolVersion < "2026-07-28" }
