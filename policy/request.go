package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/policy/identity"
	"github.com/open-policy-agent/opa/v1/ast"
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

// input builds the policy input for req directly as an AST value, so an
// evaluation converts nothing but the tool arguments, and those only when
// a module reads them; likewise input.headers (p.use): fields no
// module reads cannot change a decision.
func (p *Prepared) input(ctx context.Context, req Request) (ast.Value, error) {
	who := p.principals.entry(req.Principal)
	prefixed := req.Prefixed
	if prefixed == "" && req.Name != "" && req.Server != "" {
		prefixed = req.Server + p.sep + req.Name
	}
	items := make([][2]*ast.Term, 0, 12)
	items = append(items,
		ast.Item(commonTerm("principal"), who.term),
		ast.Item(commonTerm("method"), commonTerm(req.Method)),
		ast.Item(commonTerm("server"), ast.StringTerm(req.Server)),
		ast.Item(commonTerm("kind"), commonTerm(string(req.Kind))),
		ast.Item(commonTerm("tool"), ast.ObjectTerm(
			ast.Item(commonTerm("name"), ast.StringTerm(req.Name)),
			ast.Item(commonTerm("prefixed"), ast.StringTerm(prefixed)),
		)),
	)
	if p.use.reads("namespace") {
		items = append(items, ast.Item(commonTerm("namespace"), p.namespace(req)))
	}
	keys := ast.InternedEmptyArray
	if len(req.Arguments) > 0 {
		// Converting the argument values is the costly part of the input;
		// it is skipped when no module reads input.arguments (p.use).
		// The names are always checked: arguments that are not a JSON
		// object are refused either way.
		raw := bytes.TrimSpace(req.Arguments)
		var names []string
		var err error
		if p.use.reads("arguments") {
			var args ast.Value
			args, names, err = arguments(raw)
			if err != nil {
				return nil, err
			}
			items = append(items, ast.Item(commonTerm("arguments"), ast.NewTerm(args)))
		} else if !bytes.Equal(raw, []byte("null")) {
			if names, err = req.argumentNames(); err != nil {
				return nil, err
			}
		}
		terms := make([]*ast.Term, len(names))
		for i, n := range names {
			terms[i] = ast.StringTerm(n)
		}
		keys = ast.ArrayTerm(terms...)
	}
	items = append(items, ast.Item(commonTerm("argument_keys"), keys))
	if p.cacheable && req.Server != "" {
		// The grant is handed in only when it may be reused (cache.go);
		// otherwise the policy computes it on every question.
		g, err := p.grant(ctx, who, req.Server)
		if err != nil {
			return nil, &evalError{err}
		}
		items = append(items, ast.Item(commonTerm("grant"), g))
	}
	if req.Header != nil && len(p.headers) > 0 && p.use.reads("headers") {
		hs := make([][2]*ast.Term, 0, len(p.headers))
		for _, h := range p.headers {
			if v := req.Header(h); v != "" {
				hs = append(hs, ast.Item(ast.StringTerm(h), ast.StringTerm(v)))
			}
		}
		items = append(items, ast.Item(commonTerm("headers"), ast.ObjectTerm(hs...)))
	}
	return ast.NewObject(items...), nil
}

// namespace is input.namespace: the path, the single server of a
// /<alias>/mcp endpoint, whether names are prefixed, and the servers in
// scope when the request narrowed the aggregate (absent otherwise, with
// all: true).
func (p *Prepared) namespace(req Request) *ast.Term {
	items := []([2]*ast.Term){
		ast.Item(commonTerm("path"), ast.StringTerm(req.Path)),
		ast.Item(commonTerm("single"), ast.StringTerm(req.Scope.Single)),
		ast.Item(commonTerm("prefixed"), ast.InternedTerm(req.Scope.Prefixed)),
	}
	if n := len(req.Scope.Servers); n > 0 && n < p.servers {
		servers := make([]*ast.Term, n)
		for i, s := range req.Scope.Servers {
			servers[i] = ast.StringTerm(s)
		}
		items = append(items, ast.Item(commonTerm("servers"), ast.ArrayTerm(servers...)))
	} else {
		items = append(items, ast.Item(commonTerm("all"), ast.InternedTerm(true)))
	}
	return ast.ObjectTerm(items...)
}

// errArguments is returned for tool arguments that are not a JSON object.
// errArguments and errArgumentLimit are the full path's refusals of
// tool arguments (rpc.ArgumentNames reads them for the policy and for
// Envoy's fast path alike).
var (
	errArguments     = rpc.ErrArguments
	errArgumentLimit = rpc.ErrArgumentLimit
)

// Limits on the tool arguments the policy reads (rpc.MaxArgumentNames).
const (
	MaxArgumentNames     = rpc.MaxArgumentNames
	MaxArgumentNameBytes = rpc.MaxArgumentNameBytes
)

// arguments converts a tools/call's arguments to an AST value and lists
// their top-level names in the order sent (a repeated name counts once, at
// its first place, as in a Python dict).
func arguments(raw json.RawMessage) (ast.Value, []string, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return ast.NewObject(), nil, nil
	}
	names, err := argumentNames(raw)
	if err != nil {
		return nil, nil, err
	}
	v, err := ast.ValueFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errArguments, err)
	}
	return v, names, nil
}

// argumentNames lists the top-level names of tool arguments in order
// (rpc.ArgumentNames).
func argumentNames(raw []byte) ([]string, error) { return rpc.ArgumentNames(raw) }

// Terms for the input's field names and frequent values, built once: the
// input is built on every question, and a term per name adds up. They are
// never changed.
var commonTerms = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, s := range []string{
		"principal", "id", "team", "org", "groups", "admin", "anonymous",
		"method", "server", "kind", "tool", "name", "prefixed", "namespace",
		"path", "single", "servers", "all", "arguments", "argument_keys",
		"grant", "headers",
		"", "tools/call", "tools/list", "prompts/get", "prompts/list",
		"resources/read", "resources/list", "resources/templates/list",
		string(KindTool), string(KindPrompt), string(KindResource),
	} {
		m[s] = ast.StringTerm(s)
	}
	return m
}()

// commonTerm is the term of a string: shared for input field names and
// frequent values, new for others.
func commonTerm(s string) *ast.Term {
	if t, ok := commonTerms[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}
