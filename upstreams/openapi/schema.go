package openapi

import (
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

const (
	// maxSchemaDepth bounds how deep a converted schema nests.
	maxSchemaDepth = 24
	// maxSchemaNodes bounds the schema nodes inlined for one tool, since
	// resolving every $ref can multiply a schema shared many times.
	maxSchemaNodes = 5000
)

// schemaConv turns OpenAPI schemas into self-contained JSON Schema
// (2020-12 keywords, no $ref): every reference is inlined, a reference
// back into a schema being converted becomes an open schema that says so,
// and OpenAPI-only keywords (nullable, discriminator, xml, example) are
// mapped or dropped. One schemaConv serves one tool.
type schemaConv struct {
	// request leaves out readOnly properties, which a client must not
	// send.
	request   bool
	visiting  map[*openapi3.Schema]bool
	nodes     int
	truncated bool // depth or node budget exceeded somewhere
}

func newSchemaConv(request bool) *schemaConv {
	return &schemaConv{request: request, visiting: map[*openapi3.Schema]bool{}}
}

// convert returns the JSON Schema for ref: a map, or a bool for a boolean
// schema. A nil ref is the open schema {}.
func (c *schemaConv) convert(ref *openapi3.SchemaRef, depth int) any {
	if ref == nil || ref.Value == nil {
		return map[string]any{}
	}
	s := ref.Value
	if s.Always != nil {
		return *s.Always
	}
	if c.visiting[s] {
		return map[string]any{"description": "(recursive: same schema as " + refName(ref.Ref) + ")"}
	}
	c.nodes++
	if depth > maxSchemaDepth || c.nodes > maxSchemaNodes {
		c.truncated = true
		return map[string]any{"description": "(schema truncated: too deep or too large)"}
	}
	c.visiting[s] = true
	defer delete(c.visiting, s)

	out := map[string]any{}
	var types []string
	if s.Type != nil {
		types = slices.Clone(s.Type.Slice())
	}
	if s.Nullable && len(types) > 0 && !slices.Contains(types, "null") {
		types = append(types, "null")
	}
	switch len(types) {
	case 0:
	case 1:
		out["type"] = types[0]
	default:
		out["type"] = types
	}
	setStr(out, "title", s.Title)
	setStr(out, "description", s.Description)
	setStr(out, "format", s.Format)
	setStr(out, "pattern", s.Pattern)
	setStr(out, "contentMediaType", s.ContentMediaType)
	setStr(out, "contentEncoding", s.ContentEncoding)
	if s.Enum != nil {
		enum := slices.Clone(s.Enum)
		if s.Nullable && !slices.Contains(enum, nil) {
			enum = append(enum, nil)
		}
		out["enum"] = enum
	}
	if s.Default != nil {
		out["default"] = s.Default
	}
	if s.Const != nil {
		out["const"] = s.Const
	}
	switch {
	case len(s.Examples) > 0:
		out["examples"] = s.Examples
	case s.Example != nil:
		out["examples"] = []any{s.Example}
	}
	setFloat(out, "minimum", s.Min)
	setFloat(out, "maximum", s.Max)
	setFloat(out, "multipleOf", s.MultipleOf)
	// OpenAPI 3.0's boolean exclusive bounds modify minimum/maximum;
	// JSON Schema 2020-12 wants the bound itself.
	if b := s.ExclusiveMin; b.Value != nil {
		out["exclusiveMinimum"] = *b.Value
	} else if b.IsTrue() && s.Min != nil {
		out["exclusiveMinimum"] = *s.Min
		delete(out, "minimum")
	}
	if b := s.ExclusiveMax; b.Value != nil {
		out["exclusiveMaximum"] = *b.Value
	} else if b.IsTrue() && s.Max != nil {
		out["exclusiveMaximum"] = *s.Max
		delete(out, "maximum")
	}
	setUint(out, "minLength", s.MinLength)
	setUintPtr(out, "maxLength", s.MaxLength)
	setUint(out, "minItems", s.MinItems)
	setUintPtr(out, "maxItems", s.MaxItems)
	setUint(out, "minProperties", s.MinProps)
	setUintPtr(out, "maxProperties", s.MaxProps)
	setUintPtr(out, "minContains", s.MinContains)
	setUintPtr(out, "maxContains", s.MaxContains)
	setBool(out, "uniqueItems", s.UniqueItems)
	setBool(out, "deprecated", s.Deprecated)
	setBool(out, "readOnly", s.ReadOnly)
	setBool(out, "writeOnly", s.WriteOnly)

	if s.Items != nil {
		out["items"] = c.convert(s.Items, depth+1)
	}
	c.list(out, "prefixItems", s.PrefixItems, depth)
	c.list(out, "allOf", s.AllOf, depth)
	c.list(out, "anyOf", s.AnyOf, depth)
	c.list(out, "oneOf", s.OneOf, depth)
	c.one(out, "not", s.Not, depth)
	c.one(out, "contains", s.Contains, depth)
	c.one(out, "propertyNames", s.PropertyNames, depth)
	c.one(out, "if", s.If, depth)
	c.one(out, "then", s.Then, depth)
	c.one(out, "else", s.Else, depth)
	c.boolSchema(out, "additionalProperties", s.AdditionalProperties, depth)
	c.boolSchema(out, "unevaluatedProperties", s.UnevaluatedProperties, depth)
	c.boolSchema(out, "unevaluatedItems", s.UnevaluatedItems, depth)
	c.schemas(out, "patternProperties", s.PatternProperties, depth)
	c.schemas(out, "dependentSchemas", s.DependentSchemas, depth)
	if len(s.DependentRequired) > 0 {
		out["dependentRequired"] = s.DependentRequired
	}

	dropped := map[string]bool{}
	if len(s.Properties) > 0 {
		props := make(map[string]any, len(s.Properties))
		for name, p := range s.Properties {
			if c.request && p != nil && p.Value != nil && p.Value.ReadOnly {
				dropped[name] = true
				continue
			}
			props[name] = c.convert(p, depth+1)
		}
		out["properties"] = props
	}
	if len(s.Required) > 0 {
		var req []string
		for _, r := range s.Required {
			if !dropped[r] && !slices.Contains(req, r) {
				req = append(req, r)
			}
		}
		if len(req) > 0 {
			out["required"] = req
		}
	}
	return out
}

func (c *schemaConv) list(out map[string]any, key string, refs openapi3.SchemaRefs, depth int) {
	if len(refs) == 0 {
		return
	}
	l := make([]any, 0, len(refs))
	for _, r := range refs {
		l = append(l, c.convert(r, depth+1))
	}
	out[key] = l
}

func (c *schemaConv) one(out map[string]any, key string, ref *openapi3.SchemaRef, depth int) {
	if ref != nil {
		out[key] = c.convert(ref, depth+1)
	}
}

func (c *schemaConv) schemas(out map[string]any, key string, m openapi3.Schemas, depth int) {
	if len(m) == 0 {
		return
	}
	o := make(map[string]any, len(m))
	for k, r := range m {
		o[k] = c.convert(r, depth+1)
	}
	out[key] = o
}

func (c *schemaConv) boolSchema(out map[string]any, key string, b openapi3.BoolSchema, depth int) {
	switch {
	case b.Has != nil:
		out[key] = *b.Has
	case b.Schema != nil:
		out[key] = c.convert(b.Schema, depth+1)
	}
}

// refName is the last part of a $ref, e.g. "Category" for
// "#/components/schemas/Category".
func refName(ref string) string {
	if ref == "" {
		return "an enclosing schema"
	}
	if i := strings.LastIndexByte(ref, '/'); i >= 0 && i+1 < len(ref) {
		return ref[i+1:]
	}
	return ref
}

func setStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func setBool(m map[string]any, k string, v bool) {
	if v {
		m[k] = true
	}
}

func setFloat(m map[string]any, k string, v *float64) {
	if v != nil {
		m[k] = *v
	}
}

func setUint(m map[string]any, k string, v uint64) {
	if v != 0 {
		m[k] = v
	}
}

func setUintPtr(m map[string]any, k string, v *uint64) {
	if v != nil {
		m[k] = *v
	}
}

// schemaType returns the single non-null type of a converted schema, or "".
func schemaType(s any) string {
	m, ok := s.(map[string]any)
	if !ok {
		return ""
	}
	switch t := m["type"].(type) {
	case string:
		return t
	case []string:
		var only string
		for _, x := range t {
			if x != "null" {
				if only != "" {
					return ""
				}
				only = x
			}
		}
		return only
	}
	return ""
}
