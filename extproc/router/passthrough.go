package router

import (
	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
)

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
