package policy

import (
	"bytes"
	"encoding/json"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/policy/identity"
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

	// parsed holds the argument names once read: the cache key, the
	// input and the decision log all want them.
	parsed *parsedArgs
}

type parsedArgs struct {
	done  bool
	names []string
	err   error
}

// argumentNames are the top-level argument names, in order, read once
// per Decide.
func (r Request) argumentNames() ([]string, error) {
	raw := bytes.TrimSpace(r.Arguments)
	if r.parsed == nil {
		return argumentNames(raw)
	}
	if !r.parsed.done {
		r.parsed.names, r.parsed.err = argumentNames(raw)
		r.parsed.done = true
	}
	return r.parsed.names, r.parsed.err
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
	// Invalid means the request itself is malformed: its tool arguments
	// are not a JSON object or exceed MaxArgumentNames or
	// MaxArgumentNameBytes. No policy was evaluated; Message says what is
	// wrong (the client gets an invalid-params error, not a 403).
	Invalid bool
}
