package policy

import (
	"encoding/json"

	"github.com/mcpgw/mcpgw/identity"
	"github.com/mcpgw/mcpgw/namespace"
)

// Kind is what a request names on a server.
type Kind string

// Kinds.
const (
	KindNone     Kind = ""         // a question about the server (or endpoint) itself
	KindTool     Kind = "tool"     // tools/list, tools/call
	KindPrompt   Kind = "prompt"   // prompts/list, prompts/get
	KindResource Kind = "resource" // resources/list, resources/read
)

// Request is one access question: may Principal do Method on Name of
// Server? Field comments name the input field the policy sees.
type Request struct {
	// Principal is who asks (input.principal). Nil is refused.
	Principal *identity.Principal
	// Method is the JSON-RPC method (input.method); "" when the question
	// is about the endpoint, before any method is known.
	Method string
	// Server is the server alias (input.server); "" for none.
	Server string
	// Kind says what Name is (input.kind).
	Kind Kind
	// Name is the upstream's own name of the tool or prompt
	// (input.tool.name); Prefixed the name listed in prefixed scopes
	// (input.tool.prefixed), computed from Server and Name when empty.
	Name, Prefixed string
	// Arguments are a tools/call's arguments as sent (input.arguments and,
	// in order, input.argument_keys); nil when listing.
	Arguments json.RawMessage
	// Scope and Path are the request's namespace (input.namespace).
	Scope namespace.Scope
	Path  string
	// Header reads a request header by lower-case name; only the
	// configured access.input_headers reach input.headers. May be nil.
	Header func(name string) string
}

// Decision is the policy's answer.
type Decision struct {
	// Allow is the verdict. Anything but an explicit allow is a denial,
	// evaluation errors included.
	Allow bool
	// Hidden means the denial is "this does not exist for you": the caller
	// gets the answer it would get for an unknown name.
	Hidden bool
	// Reason says why, for logs and tests; it may name keys, servers and
	// tools, so it never goes to the client.
	Reason string
	// Message is what the client is told on a denial that is not hidden.
	Message string
}
