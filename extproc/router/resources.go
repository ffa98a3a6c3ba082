package router

import (
	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/policy"
)

// routed reports whether a request goes straight to one upstream (through
// Envoy) rather than to the sidecar: the requests that name one tool,
// prompt or resource.
func routed(method string) bool {
	switch method {
	case "tools/call", "prompts/get", "resources/read", "resources/subscribe", "resources/unsubscribe",
		"completion/complete":
		return true
	}
	return false
}

// namedBy returns what a routed method names (for error messages) and
// the params field that names it.
func namedBy(method string) (kind policy.Kind, param string) {
	switch method {
	case "prompts/get":
		return policy.KindPrompt, "name"
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return policy.KindResource, "uri"
	}
	return policy.KindTool, "name"
}

// resolve finds the upstream and its own name or URI for what a client
// sent in params.<param>, with the scope's rules (namespace.ResolveName,
// namespace.ResolveURI).
func (r *Router) resolve(scope namespace.Scope, param, name string) (alias, upstreamName string, ok bool) {
	if param == "uri" {
		return r.names.ResolveURI(scope, name)
	}
	return r.names.ResolveName(scope, name)
}
