package router

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Authorizer authenticates requests and answers access questions.
// policy.Engine is the one the gateway uses; the sidecar asks the same
// engine at list time, so what is listed is what is callable.
type Authorizer interface {
	// Authenticate finds the caller from the request headers (by
	// lower-case name); failures are *identity.AuthError values.
	Authenticate(header func(name string) string) (*identity.Principal, error)
	// Decide answers one question (and logs it); it must fail closed.
	Decide(req policy.Request) policy.Decision
	// Visible answers like Decide without logging: for checks that ask
	// about many servers at once.
	Visible(req policy.Request) bool
}

// WithAuthorizer makes the router authenticate every request (401 without
// a valid key) and ask a for every routed call and every narrowed scope.
// Without it every request is allowed, but for the servers' own
// allowed_tools/disallowed_tools.
func WithAuthorizer(a Authorizer) Option {
	return func(r *Router) { r.authz = a }
}

// authenticate returns the request's principal, or the 401 reply. Without
// an authorizer everyone is the anonymous principal.
func (r *Router) authenticate(h Headers, msg *rpc.Message) (*identity.Principal, *Reply) {
	if r.authz == nil {
		return identity.Anonymous(), nil
	}
	p, err := r.authz.Authenticate(h.Get)
	if err == nil {
		return p, nil
	}
	var ae *identity.AuthError
	if !errors.As(err, &ae) {
		ae = &identity.AuthError{Reason: identity.ReasonUnknown}
	}
	reply := errorReply(&rpc.Error{Status: http.StatusUnauthorized, Code: rpc.CodeUnauthorized, Message: ae.Error()}, msg)
	reply.Headers = append(reply.Headers, Header{"www-authenticate", challenge(ae)})
	return nil, reply
}

// challenge is the WWW-Authenticate value for a 401: the Bearer scheme
// when keys travel in Authorization (RFC 6750, with error="invalid_token"
// for a key that was refused), else a scheme naming the key header.
func challenge(ae *identity.AuthError) string {
	if ae.Header == "authorization" {
		if ae.Presented() {
			return `Bearer realm="mcpgw", error="invalid_token"`
		}
		return `Bearer realm="mcpgw"`
	}
	return fmt.Sprintf(`ApiKey realm="mcpgw", header=%q`, ae.Header)
}

// restricted reports whether p's view of the gateway is narrowed by
// permissions: such a caller gets the same 403 for what does not exist
// and for what it may not see, so it cannot probe for either.
func restricted(p *identity.Principal) bool { return !p.Anonymous && !p.Admin }

// checkEndpoint authenticates the request and checks its scope (as
// resolved, or err): a caller
// whose narrowed scope (/mcp/<names>, /<alias>/mcp, x-mcp-servers) holds
// no server it may use gets 403, as does a restricted caller naming a
// server or group that does not exist. It returns the caller, or the
// reply that ends the request.
func (r *Router) checkEndpoint(h Headers, scope namespace.Scope, err error, msg *rpc.Message) (*identity.Principal, *Reply) {
	p, reply := r.authenticate(h, msg)
	if reply != nil {
		return nil, reply
	}
	if r.authz == nil || !restricted(p) {
		return p, nil
	}
	path := h.Get(headerPath)
	if err != nil {
		var se *namespace.ScopeError
		if errors.As(err, &se) && se.Unknown != "" {
			return nil, scopeForbidden()
		}
		return p, nil // the caller answers as without a key
	}
	if scope.Single == "" && (!scope.Narrowed || len(scope.Servers) == 0) {
		// The whole aggregate: listing shows what p may use. An empty
		// scope (an empty x-mcp-servers) reaches no server and reveals
		// nothing; DecideBody refuses its calls. A list the client wrote
		// is checked even when it names every server: names that do not
		// exist are skipped, so "200 only when the list covers them all"
		// would tell a key that may use nothing which servers exist.
		return p, nil
	}
	for _, s := range scope.Servers {
		if r.authz.Visible(policy.Request{Principal: p, Server: s, Scope: scope, Path: path, Header: h.Get}) {
			return p, nil
		}
	}
	return nil, scopeForbidden()
}

func scopeForbidden() *Reply {
	return errorReply(&rpc.Error{Status: http.StatusForbidden, Code: rpc.CodeForbidden,
		Message: "Access denied: this key may not use the MCP servers of this endpoint"}, nil)
}

// authorizeNamed asks whether the caller may use what a routed request
// names (its kind; name as sent; alias and upstream name as resolved,
// ok false when the name resolved to nothing in scope). It returns the reply that ends the request, or nil.
//
// A refusal the policy marks hidden answers like an unknown name for an
// unrestricted caller (MCP's -32602 "Unknown tool"), and with a 403 that
// says no more than "not available" for a restricted one; any other
// refusal is a 403 with the policy's message (allowed_params' is LiteLLM's).
func (r *Router) authorizeNamed(h Headers, p *identity.Principal, scope namespace.Scope, msg *rpc.Message, kind policy.Kind, name, alias, upstreamName string, ok bool) *Reply {
	unknown := func() *Reply {
		if restricted(p) {
			return errorReply(&rpc.Error{Status: http.StatusForbidden, Code: rpc.CodeForbidden,
				Message: fmt.Sprintf("Access denied: %s %s is not available to this key", kind, name)}, msg)
		}
		return errorReply(protocolError(h, rpc.CodeInvalidParams, fmt.Sprintf("Unknown %s: %s", kind, name)), msg)
	}
	if !ok {
		return unknown()
	}
	if r.authz == nil {
		// No policy: the servers' own tool filters still hide tools.
		if up := r.upstreams[alias]; kind == policy.KindTool && up != nil && !up.ToolAllowed(upstreamName) {
			return unknown()
		}
		return nil
	}
	req := policy.Request{
		Principal: p, Method: msg.Method, Server: alias, Kind: kind, Name: upstreamName,
		Scope: scope, Path: h.Get(headerPath), Header: h.Get,
	}
	if msg.Method == "tools/call" {
		req.Arguments = msg.ParamRaw("arguments")
	}
	d := r.authz.Decide(req)
	switch {
	case d.Allow:
		return nil
	case d.Invalid:
		// Over the argument limits or not an object: 400 whatever the
		// protocol version, like a body over the size limit.
		return errorReply(&rpc.Error{Status: http.StatusBadRequest, Code: rpc.CodeInvalidParams, Message: d.Message}, msg)
	case d.Hidden:
		return unknown()
	}
	return errorReply(&rpc.Error{Status: http.StatusForbidden, Code: rpc.CodeForbidden, Message: d.Message}, msg)
}

var _ Authorizer = (*policy.Engine)(nil)
