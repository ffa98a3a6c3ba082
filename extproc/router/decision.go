package router

import (
	"slices"
	"strconv"
	"strings"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

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
	// Method is the JSON-RPC method of the body phase's message ("" for
	// a response, a batch, a body that did not parse, and the headers
	// phase), for metrics.
	Method string
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
	// Caller is what the headers phase learned, for the body phase
	// (DecideBody); set on every headers decision that lets the request on.
	Caller *Caller
}

// Call describes a request routed to one upstream.
type Call struct {
	Upstream *upstreams.Upstream
	// ClientSession is the gateway session id the client sent ("" if none).
	ClientSession string
	// Owner names the caller's credential (identity.Principal.Owner):
	// upstream sessions are never shared between owners.
	Owner string
	// ProtocolVersion is the MCP protocol version the client speaks.
	ProtocolVersion string
	// Method and Name are the JSON-RPC method and the unprefixed name.
	Method, Name string
	// RequestID is the JSON-RPC id, for error replies about this call.
	RequestID []byte
	// UpstreamSession is the upstream session id the call carries, set by
	// whoever attaches the session ("" for a stateless upstream).
	UpstreamSession string
	// Leased is set, by whoever attaches the session, when the call holds
	// its upstream session alone until its answer ends (a client without
	// a session: see sessions.Key).
	Leased bool
	// ClientCapabilities are the capabilities the client declared at
	// initialize (sessions.Capabilities bits, carried in its session id);
	// its upstream session declares them too.
	ClientCapabilities uint8
	// Downgraded is set when a 2026-07-28 client's call goes to an older
	// upstream (see Downgrade): its answer must be upgraded on the way back.
	Downgraded bool
	// RelayRequests is set for a call on a prefixed scope from a client
	// the upstream may send requests (elicitation, sampling, roots): their
	// ids in the response stream are rewritten so the client's answers can
	// be routed back (relay.go).
	RelayRequests bool
	relayIDs      *relay.IDs // the router's, for RelayRequests
	// URIPrefix, when set, is what the URIs in the answer get in front of
	// them: a resources/read on a prefixed scope, whose contents must name
	// the URIs the client knows (mcpgw://<alias>/<uri>).
	URIPrefix string
	// Credentials are what the call carries to its upstream (already in
	// the decision's headers, but for an OAuth2 token when Token is set);
	// the upstream session the call needs is opened with them. Secrets.
	Credentials credentials.Outbound
}

// Modern reports whether the client speaks protocol 2026-07-28 or later,
// which has no sessions.
func (c *Call) Modern() bool { return IsModern(c.ProtocolVersion) }

// IsModern reports whether a protocol version is 2026-07-28 or later.
// Versions are dates, so they compare as strings.
func IsModern(version string) bool { return version >= "2026-07-28" }

// Downgrade adapts a routed call from a 2026-07-28 client for an upstream
// that speaks only an older version (negotiated as version): that
// version's header, no 2026-07-28 headers, no 2026-07-28 per-request
// _meta, and a content-length that matches.
func Downgrade(d *Decision, h Headers, version string) error {
	body, err := rpc.StripModernMeta(d.Body)
	if err != nil {
		return err
	}
	drop := ModernOnlyHeaders(h)
	d.SetHeaders = slices.DeleteFunc(d.SetHeaders, func(x Header) bool {
		return slices.Contains(drop, x.Name) || x.Name == headerProtocolVersion || x.Name == headerContentLength
	})
	d.RemoveHeaders = append(d.RemoveHeaders, drop...)
	d.Body = body
	d.SetHeaders = append(d.SetHeaders,
		Header{headerProtocolVersion, version},
		Header{headerContentLength, strconv.Itoa(len(body))})
	if d.Call != nil {
		d.Call.Downgraded = true
	}
	return nil
}

// ModernOnlyHeaders are the request headers a 2026-07-28 client sends that
// an upstream of an older version must not see: it would take the request
// for a 2026-07-28 one and refuse the older version it now carries.
func ModernOnlyHeaders(h Headers) []string {
	var params []string
	for k := range h {
		if strings.HasPrefix(k, "mcp-param-") {
			params = append(params, k)
		}
	}
	// Sorted: the same request always gives the same mutation.
	slices.Sort(params)
	return append([]string{"mcp-method", "mcp-name"}, params...)
}

// passThrough reports whether msg belongs to the upstream on a single
// server's endpoint (/<alias>/mcp) and goes there unchanged, on the
// client's upstream session: the client's answers to the upstream's own
// requests (sampling, elicitation, roots, which reach the client on the
// stream of a routed call), cancellations of routed requests and the log
// level (so the upstream sends notifications/message on routed calls).
// None of them names anything, so on prefixed scopes they cannot be told
// apart by upstream and stay with the sidecar. (Completions name a prompt
// or resource: they are routed by it, completion.go.)
func passThrough(msg *rpc.Message) bool {
	switch msg.Kind {
	case rpc.KindResponse:
		return true
	case rpc.KindNotification:
		return msg.Method == "notifications/cancelled"
	case rpc.KindRequest:
		return msg.Method == "logging/setLevel"
	}
	return false
}

// routeToSingle forwards a pass-through message on a single server's
// endpoint to that server; elsewhere it stays with the sidecar.
func (r *Router) routeToSingle(h Headers, scope namespace.Scope, msg *rpc.Message, body []byte) Decision {
	up := r.upstreams[scope.Single]
	if scope.Single == "" || up == nil || !up.Routable() || h.Get(headerSessionID) == "" {
		// Without a client session there is no upstream session these
		// belong to (a cancellation, an answer, a log level are about one
		// session's requests): the sidecar takes them.
		return Decision{}
	}
	return r.forward(h, up, msg, body, "")
}
