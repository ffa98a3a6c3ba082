package openapi

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

func convertFile(t *testing.T, name string) *Spec {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := Convert(context.Background(), data, nil, false)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return spec
}

func toolByName(spec *Spec, name string) *Tool {
	for _, t := range spec.Tools {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// schemaJSON is a tool's input schema as clients see it.
func schemaJSON(t *testing.T, tool *Tool) string {
	t.Helper()
	b, err := json.Marshal(tool.InputSchema)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPublicSpecs converts the checked-in public specs: every operation
// becomes a tool named after its operationId, schemas are self-contained.
func TestPublicSpecs(t *testing.T) {
	tests := []struct {
		file    string
		version string
		server  string
		tools   int
		names   []string
		skipped []string
	}{
		{"petstore-swagger2.json", "Swagger 2.0", "https://petstore.swagger.io/v2", 20,
			[]string{"getpetbyid", "findpetsbystatus", "addpet", "uploadfile", "loginuser", "createuserswitharrayinput"}, nil},
		{"petstore-openapi3.yaml", "OpenAPI 3.0.4", "/api/v3", 19,
			[]string{"getpetbyid", "findpetsbystatus", "addpet", "updatepetwithform", "deletepet", "getinventory"}, nil},
		{"train-travel-openapi31.yaml", "OpenAPI 3.1.0", "https://api.example.com", 7,
			[]string{"get-stations", "get-trips", "get-bookings", "create-booking", "get-booking", "delete-booking", "create-booking-payment"},
			[]string{"webhook newBooking: webhooks are requests the API sends, not operations to call"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			spec := convertFile(t, tt.file)
			if spec.Version != tt.version || spec.ServerURL != tt.server || len(spec.Tools) != tt.tools {
				t.Errorf("version %q server %q tools %d; want %q %q %d", spec.Version, spec.ServerURL, len(spec.Tools), tt.version, tt.server, tt.tools)
			}
			for _, n := range tt.names {
				if toolByName(spec, n) == nil {
					t.Errorf("no tool %q", n)
				}
			}
			var skipped []string
			for _, s := range spec.Skipped {
				skipped = append(skipped, s.String())
			}
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped = %q, want %q", skipped, tt.skipped)
			}
			for _, tool := range spec.Tools {
				s := schemaJSON(t, tool)
				if strings.Contains(s, `"$ref"`) {
					t.Errorf("%s: schema keeps a $ref: %s", tool.Name, s)
				}
				if tool.InputSchema["type"] != "object" || tool.Description == "" {
					t.Errorf("%s: schema type %v, description %q", tool.Name, tool.InputSchema["type"], tool.Description)
				}
			}
		})
	}
}

func TestPetstoreSchemas(t *testing.T) {
	spec := convertFile(t, "petstore-openapi3.yaml")
	tests := []struct {
		tool string
		want []string // substrings of the schema JSON
	}{
		{"getpetbyid", []string{`"petId":{"description":"ID of pet to return","format":"int64","type":"integer"}`, `"required":["petId"]`}},
		{"findpetsbystatus", []string{`"status":{"default":"available","description":"Status values that need to be considered for filter","enum":["available","pending","sold"],"type":"string"}`}},
		// The body's $refs (Pet → Category, Tag) are inlined.
		{"addpet", []string{`"body":{`, `"category":{"properties":{"id":{`, `"name":{"examples":["Dogs"],"type":"string"}`, `"required":["name","photoUrls"]`, `"required":["body"]`}},
		// Header parameters are arguments too.
		{"deletepet", []string{`"api_key":{"description":"header parameter api_key","type":"string"}`}},
		// An octet-stream body is base64.
		{"uploadfile", []string{`"body":{"contentEncoding":"base64"`, `"additionalMetadata":{`}},
	}
	for _, tt := range tests {
		tool := toolByName(spec, tt.tool)
		if tool == nil {
			t.Fatalf("no tool %s", tt.tool)
		}
		s := schemaJSON(t, tool)
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s schema lacks %s:\n%s", tt.tool, w, s)
			}
		}
	}
	if got := toolByName(spec, "getpetbyid"); got.Title != "Find pet by ID." || got.Description != "Find pet by ID.\n\nReturns a single pet." {
		t.Errorf("getpetbyid title %q description %q", got.Title, got.Description)
	}
}

func TestTrainTravel31Schemas(t *testing.T) {
	spec := convertFile(t, "train-travel-openapi31.yaml")
	s := schemaJSON(t, toolByName(spec, "create-booking-payment"))
	for _, w := range []string{
		`"const":"card"`, `"oneOf":[`, `"exclusiveMinimum":0`, `"unevaluatedProperties":false`,
		`"bookingId":{"description":"The ID of the booking to pay for."`,
	} {
		if !strings.Contains(s, w) {
			t.Errorf("schema lacks %s:\n%s", w, s)
		}
	}
	// readOnly properties are not asked of the caller.
	for _, no := range []string{`"status":{`, `"bank_name"`, `"id":{"description":"Unique identifier for the payment`} {
		if strings.Contains(s, no) {
			t.Errorf("schema offers read-only %s:\n%s", no, s)
		}
	}
	if s := schemaJSON(t, toolByName(spec, "get-stations")); !strings.Contains(s, `"page":{"default":1,"description":"The page number to return","examples":[1],"minimum":1,"type":"integer"}`) {
		t.Errorf("shared page parameter not resolved: %s", s)
	}
}

const miniSpec = `openapi: 3.0.3
info: {title: mini, version: "1"}
paths:
  /nodes/{id}:
    get:
      operationId: Get Node!
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: id, in: query, schema: {type: string}}
        - {name: Accept, in: header, schema: {type: string}}
      responses: {"200": {description: ok}}
    put:
      operationId: get node
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Node'}
      responses: {"200": {description: ok}}
  /files/{name}/raw:
    post:
      requestBody:
        required: true
        content:
          image/png: {schema: {type: string, format: binary}}
      responses: {"200": {description: ok}}
    get:
      responses: {"200": {description: ok}}
components:
  schemas:
    Node:
      type: object
      nullable: true
      properties:
        name: {type: string}
        children:
          type: array
          items: {$ref: '#/components/schemas/Node'}
`

func TestConversionRules(t *testing.T) {
	spec, err := Convert(context.Background(), []byte(miniSpec), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range spec.Tools {
		names = append(names, tool.Name)
	}
	// Sanitized operationIds, a collision suffix, method+path without one.
	if want := []string{"get_files_name_raw", "get_node", "get_node_2"}; !slices.Equal(names, want) {
		t.Errorf("names = %v, want %v", names, want)
	}
	want := []string{
		`GET /files/{name}/raw: path parameter {name} is not declared; taken as a string`,
		`GET /nodes/{id} (operationId Get Node!): header parameter "Accept" was left out (OpenAPI: set by the client)`,
		`GET /nodes/{id} (operationId Get Node!): query parameter "id" is argument "query_id" (the name is taken)`,
		`PUT /nodes/{id} (operationId get node): tool name "get_node" is taken by GET /nodes/{id} (operationId Get Node!); named "get_node_2"`,
	}
	for _, w := range want {
		if !slices.Contains(spec.Notes, w) {
			t.Errorf("notes lack %q; got %q", w, spec.Notes)
		}
	}
	if len(spec.Skipped) != 1 || spec.Skipped[0].String() != "POST /files/{name}/raw: request body media types image/png are not supported (want JSON, form, multipart, text or octet-stream)" {
		t.Errorf("skipped = %v", spec.Skipped)
	}
	// A recursive schema is cut where it recurses, and nullable maps to a
	// type list.
	s := schemaJSON(t, toolByName(spec, "get_node_2"))
	for _, w := range []string{`"type":["object","null"]`, `"children":{"items":{"description":"(recursive: same schema as Node)"}`} {
		if !strings.Contains(s, w) {
			t.Errorf("schema lacks %s:\n%s", w, s)
		}
	}
}

func TestBadDocuments(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not yaml", "{{{", "not JSON or YAML"},
		{"empty", "", "empty document"},
		{"no version", "info: {title: x}\n", `not an OpenAPI document: no "openapi" or "swagger" version field`},
		{"swagger 1.2", `{"swaggerVersion": "1.2", "swagger": "1.2"}`, `swagger version "1.2" is not supported (want 2.0)`},
		{"openapi 4", "openapi: 4.0.0\n", `openapi version "4.0.0" is not supported`},
		{"broken ref", "openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/nope'}]\n      responses: {'200': {description: ok}}\n", "load OpenAPI 3.0.0 document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Convert(context.Background(), []byte(tt.doc), nil, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestToolName(t *testing.T) {
	tests := []struct{ id, method, path, want string }{
		{"getPetById", "GET", "/pet/{petId}", "getpetbyid"},
		{"", "GET", "/pet/{petId}", "get_pet_petid"},
		{"pets.list-all", "GET", "/", "pets.list-all"},
		{"  ", "DELETE", "/a b/ü", "delete_a_b"},
		{"", "", "", "operation"},
		{strings.Repeat("x", 100), "GET", "/", strings.Repeat("x", 51) + "_" + "3c30ff0a"},
	}
	for _, tt := range tests {
		got := toolName(tt.id, tt.method, tt.path)
		if tt.want == strings.Repeat("x", 51)+"_3c30ff0a" {
			if len(got) != maxToolName || !strings.HasPrefix(got, strings.Repeat("x", 51)+"_") {
				t.Errorf("long name = %q (%d)", got, len(got))
			}
			continue
		}
		if got != tt.want {
			t.Errorf("toolName(%q, %q, %q) = %q, want %q", tt.id, tt.method, tt.path, got, tt.want)
		}
	}
}
