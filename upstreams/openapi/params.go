package openapi

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// operation is what a call needs to build the HTTP request.
type operation struct {
	method string
	path   string // the spec's template, e.g. /pet/{petId}
	params []*param
	body   *body // nil: no request body
}

// param is one parameter and how it is serialized.
type param struct {
	name string // in the HTTP request
	in   string // path, query, header or cookie
	arg  string // in the tool's arguments

	style       string
	explode     bool
	required    bool
	deprecated  bool
	jsonContent bool // defined with content: sent as JSON text
	description string
	schema      *openapi3.SchemaRef
	example     any
	kind        string // the schema's type, when it has exactly one
}

// reservedHeaders are header parameters OpenAPI says to ignore: the
// client sets them itself.
var reservedHeaders = []string{"Accept", "Content-Type", "Authorization"}

var templateVar = regexp.MustCompile(`\{([^{}/]+)\}`)

// collectParams merges path-level and operation-level parameters (the
// operation's win) and orders them: path parameters as in the template,
// then query, header and cookie ones as declared. A path variable with
// no declaration becomes a required string parameter.
func collectParams(item *openapi3.PathItem, op *openapi3.Operation, path string) ([]*param, []string, error) {
	var notes []string
	type key struct{ in, name string }
	byKey := map[key]*param{}
	var order []key
	add := func(refs openapi3.Parameters) error {
		for _, ref := range refs {
			if ref == nil || ref.Value == nil {
				notes = append(notes, "a parameter without a definition was left out")
				continue
			}
			p := ref.Value
			k := key{p.In, p.Name}
			switch {
			case p.Name == "":
				notes = append(notes, "a parameter without a name was left out")
				continue
			case p.In != "path" && p.In != "query" && p.In != "header" && p.In != "cookie":
				if p.Required {
					return fmt.Errorf("required parameter %q is in %q (want path, query, header or cookie)", p.Name, p.In)
				}
				notes = append(notes, fmt.Sprintf("parameter %q in %q was left out", p.Name, p.In))
				continue
			case p.In == "header" && slices.ContainsFunc(reservedHeaders, func(h string) bool { return strings.EqualFold(h, p.Name) }):
				notes = append(notes, fmt.Sprintf("header parameter %q was left out (OpenAPI: set by the client)", p.Name))
				continue
			case (p.In == "header" || p.In == "cookie") && !isToken(p.Name):
				if p.Required {
					return fmt.Errorf("required %s parameter %q is not a valid HTTP name", p.In, p.Name)
				}
				notes = append(notes, fmt.Sprintf("%s parameter %q was left out: not a valid HTTP name", p.In, p.Name))
				continue
			}
			sm, err := p.SerializationMethod()
			if err != nil {
				return err
			}
			np := &param{
				name: p.Name, in: p.In, style: sm.Style, explode: sm.Explode,
				required: p.Required || p.In == "path", deprecated: p.Deprecated,
				description: strings.TrimSpace(p.Description), schema: p.Schema, example: p.Example,
			}
			if p.Schema == nil {
				for mt, m := range p.Content {
					if m != nil {
						np.schema = m.Schema
						np.jsonContent = isJSON(mt)
						break
					}
				}
			}
			if _, seen := byKey[k]; !seen {
				order = append(order, k)
			}
			byKey[k] = np
		}
		return nil
	}
	if err := add(item.Parameters); err != nil {
		return nil, nil, err
	}
	if err := add(op.Parameters); err != nil {
		return nil, nil, err
	}

	var out []*param
	inTemplate := map[string]bool{}
	for _, m := range templateVar.FindAllStringSubmatch(path, -1) {
		name := m[1]
		if inTemplate[name] {
			continue
		}
		inTemplate[name] = true
		p := byKey[key{"path", name}]
		if p == nil {
			p = &param{name: name, in: "path", style: "simple", required: true,
				schema: openapi3.NewStringSchema().NewRef()}
			notes = append(notes, fmt.Sprintf("path parameter {%s} is not declared; taken as a string", name))
		}
		out = append(out, p)
	}
	if strings.Count(path, "{") != strings.Count(path, "}") || strings.Count(path, "{") != len(templateVar.FindAllString(path, -1)) {
		return nil, nil, fmt.Errorf("path template %q is malformed", path)
	}
	for _, in := range []string{"query", "header", "cookie", "path"} {
		for _, k := range order {
			if k.in != in {
				continue
			}
			if in == "path" {
				if !inTemplate[k.name] {
					notes = append(notes, fmt.Sprintf("path parameter %q is not in the path template; left out", k.name))
				}
				continue
			}
			out = append(out, byKey[k])
		}
	}
	return out, notes, nil
}

// isToken reports whether s is an HTTP token (header or cookie name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return http.CanonicalHeaderKey(s) != ""
}
