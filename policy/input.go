package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// input builds the policy input for req directly as an AST value, so an
// evaluation converts nothing but the tool arguments, and those only when
// a module reads them; likewise input.headers (p.use): fields no
// module reads cannot change a decision.
func (p *Prepared) input(req Request) (ast.Value, error) {
	pr := req.Principal
	groups := make([]*ast.Term, len(pr.Groups))
	for i, g := range pr.Groups {
		groups[i] = ast.StringTerm(g)
	}
	prefixed := req.Prefixed
	if prefixed == "" && req.Name != "" && req.Server != "" {
		prefixed = req.Server + p.sep + req.Name
	}
	items := make([][2]*ast.Term, 0, 11)
	items = append(items,
		ast.Item(ast.InternedTerm("principal"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("id"), ast.StringTerm(pr.ID)),
			ast.Item(ast.InternedTerm("team"), ast.StringTerm(pr.Team)),
			ast.Item(ast.InternedTerm("org"), ast.StringTerm(pr.Org)),
			ast.Item(ast.InternedTerm("groups"), ast.ArrayTerm(groups...)),
			ast.Item(ast.InternedTerm("admin"), ast.InternedTerm(pr.Admin)),
			ast.Item(ast.InternedTerm("anonymous"), ast.InternedTerm(pr.Anonymous)),
		)),
		ast.Item(ast.InternedTerm("method"), ast.StringTerm(req.Method)),
		ast.Item(ast.InternedTerm("server"), ast.StringTerm(req.Server)),
		ast.Item(ast.InternedTerm("kind"), ast.StringTerm(string(req.Kind))),
		ast.Item(ast.InternedTerm("tool"), ast.ObjectTerm(
			ast.Item(ast.InternedTerm("name"), ast.StringTerm(req.Name)),
			ast.Item(ast.InternedTerm("prefixed"), ast.StringTerm(prefixed)),
		)),
		ast.Item(ast.InternedTerm("namespace"), p.namespace(req)),
	)
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
			items = append(items, ast.Item(ast.InternedTerm("arguments"), ast.NewTerm(args)))
		} else if !bytes.Equal(raw, []byte("null")) {
			if names, err = argumentNames(raw); err != nil {
				return nil, err
			}
		}
		terms := make([]*ast.Term, len(names))
		for i, n := range names {
			terms[i] = ast.StringTerm(n)
		}
		keys = ast.ArrayTerm(terms...)
	}
	items = append(items, ast.Item(ast.InternedTerm("argument_keys"), keys))
	if req.Header != nil && len(p.headers) > 0 && p.use.reads("headers") {
		hs := make([][2]*ast.Term, 0, len(p.headers))
		for _, h := range p.headers {
			if v := req.Header(h); v != "" {
				hs = append(hs, ast.Item(ast.StringTerm(h), ast.StringTerm(v)))
			}
		}
		items = append(items, ast.Item(ast.InternedTerm("headers"), ast.ObjectTerm(hs...)))
	}
	return ast.NewObject(items...), nil
}

// namespace is input.namespace: the path, the single server of a
// /<alias>/mcp endpoint, whether names are prefixed, and the servers in
// scope when the request narrowed the aggregate (absent otherwise, with
// all: true).
func (p *Prepared) namespace(req Request) *ast.Term {
	items := []([2]*ast.Term){
		ast.Item(ast.InternedTerm("path"), ast.StringTerm(req.Path)),
		ast.Item(ast.InternedTerm("single"), ast.StringTerm(req.Scope.Single)),
		ast.Item(ast.InternedTerm("prefixed"), ast.InternedTerm(req.Scope.Prefixed)),
	}
	if n := len(req.Scope.Servers); n > 0 && n < p.servers {
		servers := make([]*ast.Term, n)
		for i, s := range req.Scope.Servers {
			servers[i] = ast.StringTerm(s)
		}
		items = append(items, ast.Item(ast.InternedTerm("servers"), ast.ArrayTerm(servers...)))
	} else {
		items = append(items, ast.Item(ast.InternedTerm("all"), ast.InternedTerm(true)))
	}
	return ast.ObjectTerm(items...)
}

// errArguments is returned for tool arguments that are not a JSON object.
var errArguments = errors.New("tool arguments are not a JSON object")

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

// argumentNames lists the top-level names of a JSON object in order.
func argumentNames(raw []byte) ([]string, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, errArguments
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", errArguments, err)
	}
	var names []string
	var seen map[string]bool // for many names; a few are scanned
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errArguments, err)
		}
		name, _ := tok.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("%w: %v", errArguments, err)
		}
		if len(names) == 16 && seen == nil {
			seen = make(map[string]bool, 64)
			for _, n := range names {
				seen[n] = true
			}
		}
		if seen != nil {
			if seen[name] {
				continue
			}
			seen[name] = true
		} else if slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
	}
	// The closing brace: the object is complete, so these names stand for
	// a valid object even when its values are not converted (input).
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", errArguments, err)
	}
	return names, nil
}
