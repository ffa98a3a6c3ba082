package router

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/mcpgw/mcpgw/internal/mcprest"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// decideREST handles the request headers of LiteLLM's REST facade
// (/mcp-rest/...), which the sidecar serves. The router checks what it
// checks on an MCP endpoint first: the method, a credential header sent
// twice, the browser origin, the key (the same 401s), and a connection test only for a caller the policy
// does not restrict (LiteLLM's PROXY_ADMIN). Each tool call the facade
// makes re-enters the gateway as an MCP request with the caller's
// headers, so it is decided like any other.
func (r *Router) decideREST(h Headers) Decision {
	path := h.Get(headerPath)
	method, ok := mcprest.Method(path)
	if !ok {
		return Decision{Reply: restReply(http.StatusNotFound, mcprest.Plain(http.StatusNotFound))}
	}
	if h.Get(headerMethod) != method {
		reply := restReply(http.StatusMethodNotAllowed, mcprest.Plain(http.StatusMethodNotAllowed))
		reply.Headers = append(reply.Headers, Header{"allow", method})
		return Decision{Reply: reply}
	}
	if name := r.creds.RepeatedCredential(h); name != "" {
		return Decision{Reply: restReply(http.StatusBadRequest, mcprest.Detail("invalid_request",
			fmt.Sprintf("header %q is sent more than once or holds more than one credential; send one", name)))}
	}
	if !r.origins.allows(h.Get("origin")) {
		return Decision{Reply: restReply(http.StatusForbidden, mcprest.Detail("origin_not_allowed", "Origin not allowed: add it to gateway.allowed_origins"))}
	}
	p := identity.Anonymous()
	if r.authz != nil {
		var err error
		if p, err = r.authz.Authenticate(h.Get); err != nil {
			var ae *identity.AuthError
			if !errors.As(err, &ae) {
				ae = &identity.AuthError{Reason: identity.ReasonUnknown}
			}
			reply := restReply(http.StatusUnauthorized, mcprest.AuthError(ae.Error()))
			reply.Headers = append(reply.Headers, Header{"www-authenticate", challenge(ae)})
			return Decision{Reply: reply}
		}
	}
	if path == mcprest.TestConnection && restricted(p) {
		return Decision{Reply: restReply(http.StatusForbidden, mcprest.Detail("", mcprest.AdminOnlyMessage))}
	}
	// The route header is overwritten, so a client's copy never survives.
	return Decision{SetHeaders: []Header{{wellknown.RouteHeader, wellknown.SidecarCluster}}, ClearRoute: true}
}

func restReply(status int, body []byte) *Reply {
	return &Reply{Status: status, Body: body, Headers: []Header{{headerContentType, "application/json"}}}
}
