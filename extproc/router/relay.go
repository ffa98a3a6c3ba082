package router

import (
	"net/http"
	"slices"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/relay"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Requests an upstream sends its client travel on the event stream of a
// routed call; package relay rewrites that stream (and so does Envoy's
// fast path, with the same code and keys). Here: which calls need it,
// and where a client's answer to a relayed request goes.

// NewRelay returns the relay.Stream call's answer needs, or nil for none.
func NewRelay(call *Call) *relay.Stream {
	o := relay.Options{Downgrade: call.Downgraded, URIPrefix: call.URIPrefix}
	if call.RelayRequests {
		o.Alias, o.IDs, o.Session = call.Upstream.Alias, call.relayIDs, call.ClientSession
	}
	return relay.New(o)
}

// routeAnswer routes a client's answer to a request an upstream sent it
// on a prefixed scope, by the id the gateway gave the request. Answers
// with other ids stay with the sidecar (which drops them).
func (r *Router) routeAnswer(h Headers, p *identity.Principal, scope namespace.Scope, msg *rpc.Message) Decision {
	alias, id, ok := r.relayIDs.Decode(h.Get(headerSessionID), msg.ID)
	if !ok || !slices.Contains(scope.Servers, alias) {
		return Decision{}
	}
	up := r.upstreams[alias]
	if up == nil || !up.Routable() {
		return Decision{}
	}
	if r.authz != nil && !r.authz.Visible(policy.Request{Principal: p, Server: alias, Scope: scope, Path: h.Get(headerPath), Header: h.Get}) {
		return Decision{Reply: errorReply(&rpc.Error{Status: http.StatusForbidden, Code: rpc.CodeForbidden,
			Message: "Access denied: this key may not use the MCP servers of this endpoint"}, msg)}
	}
	body, err := msg.WithID(id)
	if err != nil {
		return Decision{}
	}
	return r.forward(h, up, msg, body, "")
}
