package ui

import (
	"bytes"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// argField is one input of the Try-it form, made from one property of a
// tool's input schema (upstream data: untrusted, rendered escaped).
type argField struct {
	Name        string // the argument's name, as the schema spells it
	ID          string // the input's id: arg-<n>, never the name
	Kind        string // string, number, integer, boolean, enum, strings, json
	Description string
	Required    bool
	Enum        []string
	Value       string // what was typed (or the schema's default)
	Error       string
}

// Field kinds. Anything the form cannot offer a widget for is "json":
// the argument's value typed as JSON.
const (
	kindString  = "string"
	kindNumber  = "number"
	kindInteger = "integer"
	kindBoolean = "boolean"
	kindEnum    = "enum"
	kindStrings = "strings" // an array of strings, one per line
	kindJSON    = "json"
)

// maxSchemaFields bounds the form made from one schema.
const maxSchemaFields = 200

// argPrefix prefixes the form's argument inputs: "arg.<name>".
const argPrefix = "arg."

// schemaFields reads the top-level properties of an input schema into
// form fields, required ones first, then by name. ok is false when the
// schema is not an object schema with properties the form can list (the
// page then offers the raw JSON arguments only).
func schemaFields(raw json.RawMessage) (fields []argField, ok bool) {
	var s struct {
		Type       any                        `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	if t, isStr := s.Type.(string); s.Type != nil && (!isStr || t != "object") {
		return nil, false
	}
	if len(s.Properties) > maxSchemaFields {
		return nil, false
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for name, p := range s.Properties {
		fields = append(fields, propField(name, p, required[name]))
	}
	sort.Slice(fields, func(i, j int) bool {
		if fields[i].Required != fields[j].Required {
			return fields[i].Required
		}
		return fields[i].Name < fields[j].Name
	})
	for i := range fields {
		fields[i].ID = "arg-" + strconv.Itoa(i)
	}
	return fields, true
}

func propField(name string, raw json.RawMessage, required bool) argField {
	f := argField{Name: name, Kind: kindJSON, Required: required}
	var p struct {
		Type        any               `json:"type"`
		Description string            `json:"description"`
		Enum        []json.RawMessage `json:"enum"`
		Items       *struct {
			Type any `json:"type"`
		} `json:"items"`
		Default json.RawMessage `json:"default"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return f
	}
	f.Description = p.Description
	typ, _ := p.Type.(string)
	if l, isList := p.Type.([]any); isList {
		// ["string", "null"]: an optional string.
		var kinds []string
		for _, t := range l {
			if ts, _ := t.(string); ts != "null" {
				kinds = append(kinds, ts)
			}
		}
		if len(kinds) == 1 {
			typ = kinds[0]
		}
	}
	switch {
	case len(p.Enum) > 0:
		for _, e := range p.Enum {
			var v string
			if json.Unmarshal(e, &v) != nil {
				f.Enum = nil
				break
			}
			f.Enum = append(f.Enum, v)
		}
		if f.Enum != nil {
			f.Kind = kindEnum
		}
	case typ == "string", typ == "number", typ == "integer", typ == "boolean":
		f.Kind = typ
	case typ == "array" && p.Items != nil:
		if it, _ := p.Items.Type.(string); it == "string" {
			f.Kind = kindStrings
		}
	}
	if len(p.Default) > 0 {
		f.Value = defaultText(f.Kind, p.Default)
	}
	return f
}

// defaultText is a schema default as the field shows it.
func defaultText(kind string, raw json.RawMessage) string {
	switch kind {
	case kindString, kindEnum:
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case kindStrings:
		var l []string
		if json.Unmarshal(raw, &l) == nil {
			return strings.Join(l, "\n")
		}
		return ""
	}
	return string(bytes.TrimSpace(raw))
}

// buildArgs makes the tools/call arguments from the posted form: each
// field's value in its kind (an empty field is left out), or, when
// "raw_args" is filled, that JSON object as typed. fields get the typed
// values and their errors; ok is false when a field is wrong.
func buildArgs(fields []argField, form url.Values) (args json.RawMessage, rawErr string, ok bool) {
	if raw := strings.TrimSpace(form.Get("raw_args")); raw != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
			return nil, "the arguments must be a JSON object, such as {\"q\": \"text\"}", false
		}
		return json.RawMessage(raw), "", true
	}
	out := map[string]any{}
	ok = true
	for i := range fields {
		f := &fields[i]
		v := form.Get(argPrefix + f.Name)
		f.Value = v
		t := strings.TrimSpace(v)
		if t == "" && f.Kind != kindString {
			if f.Required {
				f.Error, ok = "required", false
			}
			continue
		}
		switch f.Kind {
		case kindString:
			if v == "" {
				if f.Required {
					f.Error, ok = "required", false
				}
				continue
			}
			out[f.Name] = v
		case kindEnum:
			out[f.Name] = t
		case kindNumber:
			if _, err := strconv.ParseFloat(t, 64); err != nil {
				f.Error, ok = "must be a number", false
				continue
			}
			out[f.Name] = json.Number(t)
		case kindInteger:
			if _, err := strconv.ParseInt(t, 10, 64); err != nil {
				f.Error, ok = "must be a whole number", false
				continue
			}
			out[f.Name] = json.Number(t)
		case kindBoolean:
			switch t {
			case "true":
				out[f.Name] = true
			case "false":
				out[f.Name] = false
			default:
				f.Error, ok = "choose true or false", false
			}
		case kindStrings:
			out[f.Name] = lines(v)
		default:
			if !json.Valid([]byte(t)) {
				f.Error, ok = "must be JSON (a string is written in double quotes)", false
				continue
			}
			out[f.Name] = json.RawMessage(t)
		}
	}
	if !ok {
		return nil, "", false
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, "the arguments could not be encoded", false
	}
	return b, "", true
}
