package router

import (
	"fmt"
	"github.com/mcpgw/mcpgw/policy/identity"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/policy"
)

// routeCompletion routes completion/complete by what its ref names: a
// prompt (ref/prompt, by name) or a resource template (ref/resource, by
// URI), resolved and authorized like prompts/get and resources/read, and
// rewritten to the upstream's own name before it is forwarded. So
// completions work on every endpoint, not only on /<alias>/mcp.
func (r *Router) routeCompletion(h Headers, p *identity.Principal, scope namespace.Scope, msg *rpc.Message) Decision {
	var kind policy.Kind
	var field string
	switch refType, _ := msg.ParamString("ref", "type"); refType {
	case "ref/prompt":
		kind, field = policy.KindPrompt, "name"
	case "ref/resource":
		kind, field = policy.KindResource, "uri"
	default:
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams,
			`invalid params: completion/complete needs a ref of type "ref/prompt" or "ref/resource"`), msg)}
	}
	name, ok := msg.ParamString("ref", field)
	if !ok {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams,
			fmt.Sprintf("invalid params: completion/complete needs a string ref.%s", field)), msg)}
	}
	alias, own, ok := r.resolve(scope, field, name)
	if reply := r.authorizeNamed(h, p, scope, msg, kind, name, alias, own, ok); reply != nil {
		return Decision{Reply: reply}
	}
	up := r.upstreams[alias]
	if up == nil || !up.Routable() {
		return Decision{}
	}
	body, err := msg.WithParamString(own, "ref", field)
	if err != nil {
		return Decision{Reply: errorReply(protocolError(h, rpc.CodeInvalidParams, "invalid params"), msg)}
	}
	return r.forward(h, up, msg, body, "")
}
