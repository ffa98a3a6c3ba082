package bridge

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The schema rules (docs/bridge.md has the table):
//
//   - LiteLLM's defaults: an empty schema is {type: object, properties: {},
//     additionalProperties: false} for OpenAI; otherwise those three keys are
//     filled only where missing.
//   - A top-level type other than "object" becomes "object": MCP tool
//     arguments are always an object, and both vendors refuse anything else.
//   - Top-level allOf/anyOf/oneOf (and a top-level $ref), which OpenAI and
//     Anthropic refuse, are merged into properties and required when every
//     branch is an object schema (LiteLLM's merge for OpenAI). A union that
//     cannot be merged is dropped, and then additionalProperties is not
//     defaulted to false: a schema we loosened must not forbid what the
//     tool accepts. Top-level enum, const and not go too.
//   - Anthropic: legacy "definitions" and OpenAPI "components.schemas" move
//     into "$defs" with their $refs rewritten (LiteLLM inlines them, which
//     leaves recursive refs dangling), and only the top-level keys Anthropic
//     takes are kept.

// maxFlattenDepth bounds how deep the merge follows nested combinators and
// $refs (LiteLLM's _MAX_SCHEMA_FLATTEN_DEPTH).
const maxFlattenDepth = 32

var topLevelCombinators = []string{"allOf", "anyOf", "oneOf"}

// openAIRejectedTopLevel are keywords OpenAI's function validator refuses
// at the top level of parameters.
var openAIRejectedTopLevel = []string{"enum", "const", "not"}

// anthropicSchemaKeys are the top-level input_schema keys LiteLLM keeps for
// Anthropic (its AnthropicInputSchema).
var anthropicSchemaKeys = []string{"type", "properties", "additionalProperties", "required", "$defs", "strict"}

// schemaObject returns a deep copy of a tool's input schema as a JSON
// object, or nil when it is absent or not an object. Clients of go-sdk hold
// a map[string]any; anything else that marshals to JSON is accepted.
func schemaObject(schema any) map[string]any {
	if m, ok := schema.(map[string]any); ok {
		return deepCopy(m).(map[string]any)
	}
	if schema == nil {
		return nil
	}
	data, err := json.Marshal(schema)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}

// openAIParameters is an MCP input schema as OpenAI function parameters
// (Chat Completions and Responses).
func openAIParameters(schema any) map[string]any {
	s := schemaObject(schema)
	if len(s) == 0 {
		return map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}
	}
	s, merged := flattenTopLevel(s)
	fillObject(s)
	if _, ok := s["additionalProperties"]; !ok && merged {
		s["additionalProperties"] = false
	}
	return s
}

// anthropicInputSchema is an MCP input schema as Anthropic's input_schema.
func anthropicInputSchema(schema any) map[string]any {
	s := schemaObject(schema)
	if s == nil {
		s = map[string]any{}
	}
	s, _ = flattenTopLevel(s)
	fillObject(s)
	moveLegacyDefs(s)
	for k := range s {
		if !slices.Contains(anthropicSchemaKeys, k) {
			delete(s, k)
		}
	}
	return s
}

// fillObject makes the top level an object schema: type "object", a
// properties object, required a list of names (what is not is dropped).
func fillObject(s map[string]any) {
	s["type"] = "object"
	if _, ok := s["properties"].(map[string]any); !ok {
		s["properties"] = map[string]any{}
	}
	if req, ok := s["required"]; ok {
		names := requiredNames(s)
		if list, isList := req.([]any); !isList || len(names) != len(list) {
			if len(names) == 0 {
				delete(s, "required")
			} else {
				s["required"] = names
			}
		}
	}
}

// flattenTopLevel merges s's top-level combinators (and a top-level $ref,
// read as a one-branch allOf) into its properties and required. It
// reports false when something had to be dropped without being merged.
func flattenTopLevel(s map[string]any) (map[string]any, bool) {
	if ref, ok := s["$ref"]; ok {
		// A top-level $ref is one more allOf branch. Next to a malformed
		// allOf it is dropped with it.
		delete(s, "$ref")
		if v, present := s["allOf"]; !present {
			s["allOf"] = []any{map[string]any{"$ref": ref}}
		} else if branches, ok := v.([]any); ok {
			s["allOf"] = append([]any{map[string]any{"$ref": ref}}, branches...)
		}
	}
	f := &flattener{root: s, memo: map[string]*mergeResult{}}
	return f.flatten(s, nil, 0)
}

type flattener struct {
	root map[string]any
	memo map[string]*mergeResult // resolved $ref branches, each at most once
}

type mergeResult struct {
	schema map[string]any
	ok     bool
}

func (f *flattener) flatten(s map[string]any, seen []string, depth int) (map[string]any, bool) {
	type group struct {
		combinator string
		branches   []map[string]any
	}
	var groups []group
	var dropped []string
	mergeable := true
	for _, c := range topLevelCombinators {
		v, present := s[c]
		if !present {
			continue
		}
		dropped = append(dropped, c)
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			mergeable = false
			continue
		}
		g := group{combinator: c}
		for _, b := range list {
			m, ok := f.branch(b, seen, depth+1)
			if !ok {
				mergeable = false
				break
			}
			g.branches = append(g.branches, m)
		}
		groups = append(groups, g)
	}
	for _, k := range openAIRejectedTopLevel {
		if _, ok := s[k]; ok {
			dropped = append(dropped, k)
		}
	}
	if len(dropped) == 0 {
		return s, true
	}
	out := make(map[string]any, len(s))
	for k, v := range s {
		if !slices.Contains(dropped, k) {
			out[k] = v
		}
	}
	var all []map[string]any
	for _, g := range groups {
		all = append(all, g.branches...)
	}
	objectish := isObjectSchema(s) || (s["type"] == nil && len(all) > 0 && !slices.ContainsFunc(all, func(b map[string]any) bool { return !isObjectSchema(b) }))
	if !mergeable || !objectish {
		return out, false
	}

	// Properties: the top level's win; one defined by several branches
	// takes all their schemas (allOf: every one applies; anyOf/oneOf: any).
	props := map[string]any{}
	var fromGroups []map[string]any
	for _, g := range groups {
		byName := map[string][]any{}
		var order []string
		for _, b := range g.branches {
			bp, _ := b["properties"].(map[string]any)
			for _, name := range sortedKeys(bp) {
				if _, ok := byName[name]; !ok {
					order = append(order, name)
				}
				if !containsSchema(byName[name], bp[name]) {
					byName[name] = append(byName[name], bp[name])
				}
			}
		}
		merged := map[string]any{}
		for _, name := range order {
			merged[name] = combine(g.combinator, byName[name])
		}
		fromGroups = append(fromGroups, merged)
	}
	byName := map[string][]any{}
	for _, m := range fromGroups {
		for name, v := range m {
			if !containsSchema(byName[name], v) {
				byName[name] = append(byName[name], v)
			}
		}
	}
	for name, vs := range byName {
		props[name] = combine("allOf", vs)
	}
	if top, ok := s["properties"].(map[string]any); ok {
		for name, v := range top {
			props[name] = v
		}
	}

	// Required: the top level's, plus every allOf branch's, plus what all
	// branches of an anyOf/oneOf require.
	req := map[string]bool{}
	for _, n := range requiredNames(s) {
		req[n] = true
	}
	for _, g := range groups {
		var names []string
		for i, b := range g.branches {
			bn := requiredNames(b)
			switch {
			case g.combinator == "allOf" || i == 0:
				names = append(names, bn...)
			default:
				names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(bn, n) })
			}
		}
		for _, n := range names {
			req[n] = true
		}
	}
	out["type"] = "object"
	out["properties"] = props
	delete(out, "required")
	if len(req) > 0 {
		names := make([]any, 0, len(req))
		for _, n := range sortedKeys(req) {
			names = append(names, n)
		}
		out["required"] = names
	}
	return out, true
}

// branch resolves one combinator branch to a mergeable object schema.
func (f *flattener) branch(b any, seen []string, depth int) (map[string]any, bool) {
	m, ok := b.(map[string]any)
	if !ok || depth > maxFlattenDepth {
		return nil, false
	}
	ref, isRef := m["$ref"].(string)
	if !isRef {
		flat, ok := f.flatten(m, seen, depth)
		return flat, ok
	}
	if r, done := f.memo[ref]; done {
		return r.schema, r.ok
	}
	if slices.Contains(seen, ref) {
		return nil, false
	}
	r := &mergeResult{}
	if target := resolveLocalRef(f.root, ref); target != nil {
		r.schema, r.ok = f.branch(target, append(slices.Clip(seen), ref), depth+1)
	}
	f.memo[ref] = r
	return r.schema, r.ok
}

// resolveLocalRef finds "#/$defs/<name>" or "#/definitions/<name>" in root.
func resolveLocalRef(root map[string]any, ref string) map[string]any {
	for _, container := range []string{"$defs", "definitions"} {
		prefix := "#/" + container + "/"
		if name, ok := strings.CutPrefix(ref, prefix); ok {
			defs, _ := root[container].(map[string]any)
			target, _ := defs[unescapePointer(name)].(map[string]any)
			return target
		}
	}
	return nil
}

func isObjectSchema(s map[string]any) bool {
	t, hasType := s["type"]
	if !hasType {
		_, hasProps := s["properties"]
		return hasProps
	}
	return t == "object"
}

func requiredNames(s map[string]any) []string {
	list, _ := s["required"].([]any)
	var names []string
	for _, v := range list {
		if n, ok := v.(string); ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func containsSchema(list []any, v any) bool {
	return slices.ContainsFunc(list, func(x any) bool { return reflect.DeepEqual(x, v) })
}

// combine is one schema when all agree, else the combinator over them.
func combine(combinator string, schemas []any) any {
	if len(schemas) == 1 {
		return schemas[0]
	}
	if combinator == "oneOf" {
		combinator = "anyOf" // a property valid in one branch, not exactly one
	}
	return map[string]any{combinator: schemas}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// moveLegacyDefs moves "definitions" and OpenAPI "components.schemas" into
// "$defs" (the only container Anthropic resolves), renaming on a clash,
// and rewrites the $refs that point at them.
func moveLegacyDefs(s map[string]any) {
	defs, _ := s["$defs"].(map[string]any)
	renames := map[string]string{} // old ref prefix + name → new name
	move := func(from map[string]any, prefix string) {
		for _, name := range sortedKeys(from) {
			if defs == nil {
				defs = map[string]any{}
			}
			target := name
			for i := 2; ; i++ {
				existing, taken := defs[target]
				if !taken || reflect.DeepEqual(existing, from[name]) {
					break
				}
				target = name + "_" + strconv.Itoa(i)
			}
			defs[target] = from[name]
			renames[prefix+name] = target
		}
	}
	// definitions first: on a name clash with components.schemas it keeps
	// the plain name (LiteLLM's precedence); $defs keeps its own names.
	if legacy, ok := s["definitions"].(map[string]any); ok {
		move(legacy, "#/definitions/")
		delete(s, "definitions")
	}
	if comp, ok := s["components"].(map[string]any); ok {
		if schemas, ok := comp["schemas"].(map[string]any); ok {
			move(schemas, "#/components/schemas/")
			delete(s, "components")
		}
	}
	if len(renames) == 0 {
		return
	}
	s["$defs"] = defs
	for k, v := range s {
		s[k] = rewriteRefs(v, renames)
	}
}

// rewriteRefs rewrites legacy $refs in schema positions; values of
// default, const, enum and examples are data and stay as they are.
func rewriteRefs(v any, renames map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "default", "const", "enum", "examples":
				continue
			case "$ref":
				if ref, ok := x.(string); ok {
					v[k] = rewriteRef(ref, renames)
				}
				continue
			}
			v[k] = rewriteRefs(x, renames)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = rewriteRefs(x, renames)
		}
		return v
	default:
		return v
	}
}

func rewriteRef(ref string, renames map[string]string) string {
	for _, prefix := range []string{"#/definitions/", "#/components/schemas/"} {
		rest, ok := strings.CutPrefix(ref, prefix)
		if !ok {
			continue
		}
		token, tail, _ := strings.Cut(rest, "/")
		if tail != "" {
			tail = "/" + tail
		}
		if name, ok := renames[prefix+unescapePointer(token)]; ok {
			return "#/$defs/" + escapePointer(name) + tail
		}
	}
	return ref
}

func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
