package openapi

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Tool is one operation served as an MCP tool.
type Tool struct {
	Name        string
	Title       string // the operation's summary
	Description string
	// InputSchema is a JSON Schema object: one property per parameter
	// (and the request body), every $ref resolved.
	InputSchema map[string]any
	// Method and Path are the HTTP method and the spec's path template.
	Method, Path string
	op           *operation
}

// Skipped is an operation that is not served, and why.
type Skipped struct {
	Operation string // "GET /pets/{id} (operationId getPet)"
	Reason    string
}

func (s Skipped) String() string { return s.Operation + ": " + s.Reason }

// Spec is a converted document.
type Spec struct {
	Title   string // info.title
	Version string // the document's openapi or swagger version
	// ServerURL is the first server URL (variables at their defaults),
	// as written: it may be relative.
	ServerURL string
	Tools     []*Tool
	Skipped   []Skipped
	// Notes are things users should know that did not stop an operation
	// from being served: renamed tools, dropped optional bodies, ...
	Notes []string
}

// methodOrder is the order operations of one path are converted in, so
// names (and collision suffixes) do not depend on map order.
var methodOrder = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "QUERY", "CONNECT"}

// Convert parses an OpenAPI 3.x or Swagger 2.0 document (JSON or YAML)
// and turns its operations into tools. location, if not nil, is where the
// document came from: relative $refs are read from there when
// allowExternalRefs is set. It returns an error only when the document as
// a whole cannot be read; problems with single operations are reported in
// Spec.Skipped. It never panics.
func Convert(ctx context.Context, data []byte, location *url.URL, allowExternalRefs bool) (*Spec, error) {
	doc, version, err := parseDoc(ctx, data, location, allowExternalRefs)
	if err != nil {
		return nil, err
	}
	spec := &Spec{Version: version}
	if doc.Info != nil {
		spec.Title = doc.Info.Title
	}
	spec.ServerURL = serverURL(doc.Servers)
	for _, name := range sortedKeysOf(doc.Webhooks) {
		spec.Skipped = append(spec.Skipped, Skipped{Operation: "webhook " + name,
			Reason: "webhooks are requests the API sends, not operations to call"})
	}
	if doc.Paths == nil {
		return spec, nil
	}
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	names := map[string]string{} // tool name → operation, for collisions
	for _, path := range keys {
		item := paths[path]
		if item == nil {
			continue
		}
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, strings.ToUpper(m))
		}
		slices.SortFunc(methods, func(a, b string) int {
			ia, ib := slices.Index(methodOrder, a), slices.Index(methodOrder, b)
			if ia < 0 {
				ia = len(methodOrder)
			}
			if ib < 0 {
				ib = len(methodOrder)
			}
			if ia != ib {
				return ia - ib
			}
			return strings.Compare(a, b)
		})
		for _, method := range methods {
			op := ops[method]
			if op == nil {
				op = ops[strings.ToLower(method)]
			}
			if op == nil {
				continue
			}
			label := method + " " + path
			if op.OperationID != "" {
				label += " (operationId " + op.OperationID + ")"
			}
			tool, notes, err := convertOperation(method, path, item, op)
			if err != nil {
				spec.Skipped = append(spec.Skipped, Skipped{Operation: label, Reason: err.Error()})
				continue
			}
			if len(op.Callbacks) > 0 {
				notes = append(notes, "callbacks are not served")
			}
			for _, n := range notes {
				spec.Notes = append(spec.Notes, label+": "+n)
			}
			base := tool.Name
			for i := 2; names[tool.Name] != ""; i++ {
				tool.Name = fmt.Sprintf("%s_%d", base, i)
			}
			if tool.Name != base {
				spec.Notes = append(spec.Notes, fmt.Sprintf("%s: tool name %q is taken by %s; named %q", label, base, names[base], tool.Name))
			}
			names[tool.Name] = label
			spec.Tools = append(spec.Tools, tool)
		}
	}
	return spec, nil
}

// convertOperation builds one tool, recovering from a panic on odd input
// as an error so one operation cannot take the whole document down.
func convertOperation(method, path string, item *openapi3.PathItem, op *openapi3.Operation) (t *Tool, notes []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, notes, err = nil, nil, fmt.Errorf("internal error while converting: %v", r)
		}
	}()
	if strings.ContainsAny(path, "?#") || !strings.HasPrefix(path, "/") {
		return nil, nil, fmt.Errorf("path must start with / and hold no query or fragment")
	}
	if !validMethod(method) {
		return nil, nil, fmt.Errorf("HTTP method %q is not a valid token", method)
	}
	o := &operation{method: method, path: path}
	props := map[string]any{}
	var required []string
	sc := newSchemaConv(true)
	used := map[string]bool{}

	params, pnotes, err := collectParams(item, op, path)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, pnotes...)
	for _, p := range params {
		arg := p.name
		if used[arg] {
			arg = p.in + "_" + p.name
		}
		for i := 2; used[arg]; i++ {
			arg = fmt.Sprintf("%s_%s_%d", p.in, p.name, i)
		}
		if arg != p.name {
			notes = append(notes, fmt.Sprintf("%s parameter %q is argument %q (the name is taken)", p.in, p.name, arg))
		}
		used[arg] = true
		p.arg = arg
		s := sc.convert(p.schema, 0)
		sm, ok := s.(map[string]any)
		if !ok {
			sm = map[string]any{}
			if s == false {
				sm["not"] = map[string]any{}
			}
		}
		desc := p.description
		if d, _ := sm["description"].(string); d != "" && desc != "" && d != desc {
			desc = desc + "\n\n" + d
		} else if desc == "" {
			desc = d
		}
		if desc == "" {
			desc = fmt.Sprintf("%s parameter %s", p.in, p.name)
		} else if p.in != "query" && p.in != "path" {
			desc = fmt.Sprintf("(%s) %s", p.in, desc)
		}
		if p.deprecated {
			desc += " (deprecated)"
		}
		sm["description"] = desc
		if p.example != nil {
			if _, has := sm["examples"]; !has {
				sm["examples"] = []any{p.example}
			}
		}
		p.kind = schemaType(sm)
		props[arg] = sm
		if p.required {
			required = append(required, arg)
		}
		o.params = append(o.params, p)
	}

	b, bnotes, err := collectBody(op)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, bnotes...)
	if b != nil {
		b.arg = "body"
		for i := 2; used[b.arg]; i++ {
			b.arg = fmt.Sprintf("request_body%s", suffix(i))
		}
		used[b.arg] = true
		s := sc.convert(b.schema, 0)
		sm, ok := s.(map[string]any)
		if !ok {
			sm = map[string]any{}
		}
		desc := b.description
		if desc == "" {
			desc = "Request body (" + b.mediaType + ")"
		}
		if d, _ := sm["description"].(string); d != "" && d != desc {
			desc += "\n\n" + d
		}
		sm["description"] = desc
		props[b.arg] = sm
		if b.required {
			required = append(required, b.arg)
		}
		o.body = b
	}
	if sc.truncated {
		notes = append(notes, "input schema truncated (too deep or too large); arguments are still sent as given")
	}

	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	t = &Tool{
		Name:        toolName(op.OperationID, method, path),
		Title:       strings.TrimSpace(op.Summary),
		Description: description(method, path, op),
		InputSchema: schema,
		Method:      method,
		Path:        path,
		op:          o,
	}
	return t, notes, nil
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func suffix(i int) string {
	if i == 2 {
		return ""
	}
	return fmt.Sprintf("_%d", i)
}

func description(method, path string, op *openapi3.Operation) string {
	var parts []string
	if s := strings.TrimSpace(op.Summary); s != "" {
		parts = append(parts, s)
	}
	if d := strings.TrimSpace(op.Description); d != "" && d != strings.TrimSpace(op.Summary) {
		parts = append(parts, d)
	}
	if len(parts) == 0 {
		parts = append(parts, method+" "+path)
	}
	if op.Deprecated {
		parts = append(parts, "Deprecated.")
	}
	return strings.Join(parts, "\n\n")
}

// serverURL is the first server's URL with its variables at their
// defaults, or "".
func serverURL(servers openapi3.Servers) string {
	for _, s := range servers {
		if s == nil || s.URL == "" {
			continue
		}
		u := s.URL
		for name, v := range s.Variables {
			if v != nil {
				u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
			}
		}
		return u
	}
	return ""
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
