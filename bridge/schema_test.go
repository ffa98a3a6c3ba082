package bridge

import (
	"encoding/json"
	"reflect"
	"testing"
)

// schemaCases are MCP input schemas and what each format gets. "litellm"
// marks the cases where the result is exactly LiteLLM 1.108.7's
// (_normalize_mcp_input_schema for OpenAI, sanitize_input_schema_for_anthropic
// for Anthropic); the others differ on purpose (docs/bridge.md).
var schemaCases = []struct {
	name      string
	in        string // JSON; "" for a nil schema
	openAI    string
	anthropic string
	litellm   bool // both results equal LiteLLM's
}{
	{
		name:      "no schema",
		in:        "",
		openAI:    `{"type":"object","properties":{},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{}}`,
		litellm:   true,
	},
	{
		name:      "empty schema",
		in:        `{}`,
		openAI:    `{"type":"object","properties":{},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{}}`,
		litellm:   true,
	},
	{
		name:      "type object only: properties and additionalProperties filled",
		in:        `{"type":"object"}`,
		openAI:    `{"type":"object","properties":{},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{}}`,
		litellm:   true,
	},
	{
		name:      "complete schema kept; Anthropic drops keys it does not take",
		in:        `{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"args","description":"d","type":"object","properties":{"q":{"type":"string","pattern":"^a"}},"required":["q"],"additionalProperties":true}`,
		openAI:    `{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"args","description":"d","type":"object","properties":{"q":{"type":"string","pattern":"^a"}},"required":["q"],"additionalProperties":true}`,
		anthropic: `{"type":"object","properties":{"q":{"type":"string","pattern":"^a"}},"required":["q"],"additionalProperties":true}`,
		litellm:   true,
	},
	{
		name:      "type filled when missing",
		in:        `{"properties":{"n":{"type":"integer"}}}`,
		openAI:    `{"type":"object","properties":{"n":{"type":"integer"}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"n":{"type":"integer"}}}`,
		litellm:   true,
	},
	{
		name:      "$defs kept for both",
		in:        `{"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}}}`,
		openAI:    `{"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"p":{"$ref":"#/$defs/P"}},"$defs":{"P":{"type":"string"}}}`,
		litellm:   true,
	},
	{
		// LiteLLM keeps "string" for OpenAI, which OpenAI refuses; MCP
		// arguments are always an object.
		name:      "top-level type other than object becomes object",
		in:        `{"type":"string"}`,
		openAI:    `{"type":"object","properties":{},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{}}`,
	},
	{
		name:      "nullable object type becomes object",
		in:        `{"type":["object","null"],"properties":{"a":{}}}`,
		openAI:    `{"type":"object","properties":{"a":{}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"a":{}}}`,
	},
	{
		name:      "properties that are not an object are replaced",
		in:        `{"type":"object","properties":["a"]}`,
		openAI:    `{"type":"object","properties":{},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{}}`,
	},
	{
		name:      "required keeps only names",
		in:        `{"type":"object","properties":{"a":{}},"required":["a",7,"a"]}`,
		openAI:    `{"type":"object","properties":{"a":{}},"required":["a"],"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"a":{}},"required":["a"]}`,
	},
	{
		name:      "required that is not a list is dropped",
		in:        `{"type":"object","properties":{"a":{}},"required":"a"}`,
		openAI:    `{"type":"object","properties":{"a":{}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"a":{}}}`,
	},
	{
		// OpenAI and Anthropic refuse a top-level anyOf; LiteLLM's OpenAI
		// chat path merges it like this, its MCP bridge does not.
		name:      "top-level anyOf of objects merged: required is what every branch requires",
		in:        `{"type":"object","anyOf":[{"properties":{"id":{"type":"string"},"a":{"type":"string"}},"required":["id","a"]},{"properties":{"id":{"type":"string"},"b":{"type":"number"}},"required":["id","b"]}]}`,
		openAI:    `{"type":"object","properties":{"id":{"type":"string"},"a":{"type":"string"},"b":{"type":"number"}},"required":["id"],"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"id":{"type":"string"},"a":{"type":"string"},"b":{"type":"number"}},"required":["id"]}`,
	},
	{
		name:      "top-level allOf merged: required is every branch's",
		in:        `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"type":"object","properties":{"b":{"type":"string"}},"required":["b"]}],"required":["c"],"properties":{"c":{}}}`,
		openAI:    `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{}},"required":["a","b","c"],"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{}},"required":["a","b","c"]}`,
	},
	{
		// LiteLLM keeps the first branch's schema: an argument valid by the
		// second branch would look invalid to the model.
		name:      "a property two oneOf branches define differently takes either",
		in:        `{"oneOf":[{"type":"object","properties":{"v":{"type":"string"}}},{"type":"object","properties":{"v":{"type":"integer"}}}]}`,
		openAI:    `{"type":"object","properties":{"v":{"anyOf":[{"type":"string"},{"type":"integer"}]}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"v":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}`,
	},
	{
		name:      "the top level's property wins over a branch's",
		in:        `{"type":"object","properties":{"v":{"type":"string","description":"top"}},"anyOf":[{"properties":{"v":{"type":"string"}}}]}`,
		openAI:    `{"type":"object","properties":{"v":{"type":"string","description":"top"}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"v":{"type":"string","description":"top"}}}`,
	},
	{
		name:      "branches that are local $refs are resolved",
		in:        `{"anyOf":[{"$ref":"#/$defs/A"},{"$ref":"#/definitions/B"}],"$defs":{"A":{"type":"object","properties":{"a":{}},"required":["a","x"]}},"definitions":{"B":{"type":"object","properties":{"b":{}},"required":["b","x"]}}}`,
		openAI:    `{"type":"object","properties":{"a":{},"b":{}},"required":["x"],"additionalProperties":false,"$defs":{"A":{"type":"object","properties":{"a":{}},"required":["a","x"]}},"definitions":{"B":{"type":"object","properties":{"b":{}},"required":["b","x"]}}}`,
		anthropic: `{"type":"object","properties":{"a":{},"b":{}},"required":["x"],"$defs":{"A":{"type":"object","properties":{"a":{}},"required":["a","x"]},"B":{"type":"object","properties":{"b":{}},"required":["b","x"]}}}`,
	},
	{
		// Generators that emit the arguments as a definition: LiteLLM adds
		// properties {} and additionalProperties false next to the $ref,
		// which would forbid every argument.
		name:      "top-level $ref is merged",
		in:        `{"$ref":"#/$defs/Args","$defs":{"Args":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}`,
		openAI:    `{"type":"object","properties":{"q":{"type":"string"}},"required":["q"],"additionalProperties":false,"$defs":{"Args":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}`,
		anthropic: `{"type":"object","properties":{"q":{"type":"string"}},"required":["q"],"$defs":{"Args":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}`,
	},
	{
		// What cannot be merged is dropped, and the schema then allows
		// more than the tool (the server still validates), never less: no
		// additionalProperties false.
		name:      "a union that is not of objects is dropped, additionalProperties left open",
		in:        `{"anyOf":[{"type":"string"},{"type":"object","properties":{"a":{}}}]}`,
		openAI:    `{"type":"object","properties":{}}`,
		anthropic: `{"type":"object","properties":{}}`,
	},
	{
		name:      "a cyclic $ref branch is dropped",
		in:        `{"type":"object","properties":{"k":{}},"allOf":[{"$ref":"#/$defs/A"}],"$defs":{"A":{"allOf":[{"$ref":"#/$defs/A"}]}}}`,
		openAI:    `{"type":"object","properties":{"k":{}},"$defs":{"A":{"allOf":[{"$ref":"#/$defs/A"}]}}}`,
		anthropic: `{"type":"object","properties":{"k":{}},"$defs":{"A":{"allOf":[{"$ref":"#/$defs/A"}]}}}`,
	},
	{
		name:      "an external $ref branch is dropped",
		in:        `{"type":"object","properties":{"k":{}},"allOf":[{"$ref":"https://example.com/s.json"}]}`,
		openAI:    `{"type":"object","properties":{"k":{}}}`,
		anthropic: `{"type":"object","properties":{"k":{}}}`,
	},
	{
		name:      "top-level enum, const and not are dropped",
		in:        `{"type":"object","properties":{"a":{}},"enum":[{"a":1}],"not":{"required":["b"]}}`,
		openAI:    `{"type":"object","properties":{"a":{}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"a":{}}}`,
	},
	{
		name:      "nested combinators are kept",
		in:        `{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}`,
		openAI:    `{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}`,
		litellm:   true,
	},
	{
		// Anthropic resolves only $defs. LiteLLM inlines legacy definitions,
		// which leaves a recursive one pointing at nothing; moving keeps it.
		name:      "Anthropic: recursive legacy definitions move to $defs",
		in:        `{"type":"object","properties":{"root":{"$ref":"#/definitions/Node"}},"definitions":{"Node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/definitions/Node"}},"default":{"default":{"$ref":"#/definitions/Node"}}}}}}`,
		openAI:    `{"type":"object","properties":{"root":{"$ref":"#/definitions/Node"}},"definitions":{"Node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/definitions/Node"}},"default":{"default":{"$ref":"#/definitions/Node"}}}}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"root":{"$ref":"#/$defs/Node"}},"$defs":{"Node":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/Node"}},"default":{"default":{"$ref":"#/definitions/Node"}}}}}}`,
	},
	{
		name:      "Anthropic: OpenAPI components.schemas and a name clash with $defs",
		in:        `{"type":"object","properties":{"a":{"$ref":"#/components/schemas/P"},"b":{"$ref":"#/$defs/P"},"c":{"$ref":"#/definitions/a~1b"}},"$defs":{"P":{"type":"string"}},"components":{"schemas":{"P":{"type":"integer"}}},"definitions":{"a/b":{"type":"boolean"}}}`,
		openAI:    `{"type":"object","properties":{"a":{"$ref":"#/components/schemas/P"},"b":{"$ref":"#/$defs/P"},"c":{"$ref":"#/definitions/a~1b"}},"$defs":{"P":{"type":"string"}},"components":{"schemas":{"P":{"type":"integer"}}},"definitions":{"a/b":{"type":"boolean"}},"additionalProperties":false}`,
		anthropic: `{"type":"object","properties":{"a":{"$ref":"#/$defs/P_2"},"b":{"$ref":"#/$defs/P"},"c":{"$ref":"#/$defs/a~1b"}},"$defs":{"P":{"type":"string"},"P_2":{"type":"integer"},"a/b":{"type":"boolean"}}}`,
	},
}

func decodeSchema(t *testing.T, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestSchemas(t *testing.T) {
	for _, c := range schemaCases {
		t.Run(c.name, func(t *testing.T) {
			in := decodeSchema(t, c.in)
			before, _ := json.Marshal(in)
			for _, f := range []struct {
				name string
				conv func(any) map[string]any
				want string
			}{{"openai", openAIParameters, c.openAI}, {"anthropic", anthropicInputSchema, c.anthropic}} {
				got := f.conv(in)
				if want := decodeSchema(t, f.want); !reflect.DeepEqual(normalizeJSON(t, got), want) {
					data, _ := json.Marshal(got)
					t.Errorf("%s:\n got %s\nwant %s", f.name, data, f.want)
				}
			}
			if after, _ := json.Marshal(in); string(after) != string(before) {
				t.Errorf("the tool's schema was changed: %s", after)
			}
		})
	}
}

// normalizeJSON round-trips v so that maps built by the code compare with
// decoded test JSON.
func normalizeJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A schema that is not a map (json.RawMessage, a struct) is read as JSON,
// numbers exactly.
func TestSchemaFromRawJSON(t *testing.T) {
	raw := json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740993}}}`)
	data, _ := json.Marshal(openAIParameters(raw))
	const want = `{"additionalProperties":false,"properties":{"n":{"maximum":9007199254740993,"type":"integer"}},"type":"object"}`
	if string(data) != want {
		t.Fatalf("got %s\nwant %s", data, want)
	}
	if got := openAIParameters(json.RawMessage(`[1]`)); !reflect.DeepEqual(got, openAIParameters(nil)) {
		t.Fatalf("a schema that is not an object: %v", got)
	}
}

// FuzzSchemas: whatever a server sends as inputSchema, each format gets an
// object schema it can marshal, and Anthropic only keys it takes.
func FuzzSchemas(f *testing.F) {
	for _, c := range schemaCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var v any
		if json.Unmarshal([]byte(in), &v) != nil {
			return
		}
		for _, s := range []map[string]any{openAIParameters(v), anthropicInputSchema(v)} {
			if s["type"] != "object" {
				t.Fatalf("type %v", s["type"])
			}
			if _, ok := s["properties"].(map[string]any); !ok {
				t.Fatalf("properties %v", s["properties"])
			}
			for _, k := range []string{"allOf", "anyOf", "oneOf", "enum", "const", "not", "$ref"} {
				if _, ok := s[k]; ok {
					t.Fatalf("top-level %s left in %v", k, s)
				}
			}
			if _, err := json.Marshal(s); err != nil {
				t.Fatal(err)
			}
		}
		for k := range anthropicInputSchema(v) {
			switch k {
			case "type", "properties", "additionalProperties", "required", "$defs", "strict":
			default:
				t.Fatalf("Anthropic schema has %q", k)
			}
		}
	})
}
