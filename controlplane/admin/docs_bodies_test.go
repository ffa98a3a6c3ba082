package admin

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// docRequest is one request of testdata/litellm-doc-bodies.json.
type docRequest struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body"`
}

// docCase is a request body of LiteLLM's documentation, where it comes
// from, what it refers to (setup) and the status LiteLLM documents.
type docCase struct {
	Name   string       `json:"name"`
	Source string       `json:"source"`
	Why    string       `json:"why"`
	Setup  []docRequest `json:"setup"`
	docRequest
	Want  int    `json:"want"`
	Param string `json:"param"`
}

func loadDocCases(t *testing.T) (cases, refused []docCase) {
	t.Helper()
	b, err := os.ReadFile("testdata/litellm-doc-bodies.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases   []docCase `json:"cases"`
		Refused []docCase `json:"refused"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range append(append([]docCase{}, f.Cases...), f.Refused...) {
		if c.Name == "" || c.Source == "" || c.Method == "" || c.Path == "" || c.Want == 0 {
			t.Fatalf("testdata case %+v lacks a name, source, method, path or want", c)
		}
	}
	return f.Cases, f.Refused
}

// TestLiteLLMDocumentationBodies sends the request bodies of LiteLLM's
// documentation examples as they are (after creating what they refer to)
// and expects the status LiteLLM documents for them.
func TestLiteLLMDocumentationBodies(t *testing.T) {
	cases, _ := loadDocCases(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.Tools = fakeTools{} })
			for _, s := range tc.Setup {
				if code, body, _ := e.do(s.Method, s.Path, string(s.Body)); code/100 != 2 {
					t.Fatalf("setup %s %s %s: %d %v", s.Method, s.Path, s.Body, code, body)
				}
			}
			code, body, _ := e.do(tc.Method, tc.Path, string(tc.Body))
			if code != tc.Want {
				t.Fatalf("%s %s (%s): %d %v, want %d", tc.Method, tc.Path, tc.Source, code, body, tc.Want)
			}
			// The MCP grants of a new key or team are what the body says.
			if tc.Path == "/key/generate" || tc.Path == "/team/new" {
				var sent map[string]any
				if err := json.Unmarshal(tc.Body, &sent); err != nil {
					t.Fatal(err)
				}
				for _, f := range []string{"mcp_servers", "mcp_access_groups", "mcp_tool_permissions"} {
					want := field(sent, "object_permission", f)
					if got := field(body, "object_permission", f); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("object_permission.%s = %v, want %v", f, got, want)
					}
				}
			}
		})
	}
}

// TestLiteLLMDocumentationBodiesRefused: bodies of LiteLLM's documentation
// that LiteLLM itself refuses are refused here too, naming the field.
func TestLiteLLMDocumentationBodiesRefused(t *testing.T) {
	_, refused := loadDocCases(t)
	for _, tc := range refused {
		t.Run(tc.Name, func(t *testing.T) {
			e := newEnv(t, nil)
			code, body, _ := e.do(tc.Method, tc.Path, string(tc.Body))
			if code != tc.Want || field(body, "error", "param") != tc.Param {
				t.Fatalf("%s %s (%s): %d %v, want %d naming %s (%s)", tc.Method, tc.Path, tc.Source, code, body, tc.Want, tc.Param, tc.Why)
			}
			if code >= 400 && !strings.Contains(errMsg(body), tc.Param) {
				t.Errorf("message %q does not name %s", errMsg(body), tc.Param)
			}
		})
	}
}

// TestKeyUpdateByAlias: /key/update names the key by key_alias when key
// is absent, as LiteLLM's UpdateKeyRequest does ("either key or
// key_alias must be provided").
func TestKeyUpdateByAlias(t *testing.T) {
	e := newEnv(t, nil)
	if code, body, _ := e.do("POST", "/key/generate", `{"key_alias": "agent", "max_budget": 5}`); code != 200 {
		t.Fatalf("setup: %d %v", code, body)
	}
	for _, tt := range []struct {
		body  string
		want  int
		param string
	}{
		{`{"key_alias": "agent", "blocked": true, "max_budget": 10}`, 200, ""},
		{`{"key_alias": "ci", "blocked": true}`, 409, ""},
		{`{"key_alias": "nope", "blocked": true}`, 404, "key_alias"},
		{`{"blocked": true}`, 400, "key"},
	} {
		code, body, _ := e.do("POST", "/key/update", tt.body)
		if code != tt.want || (tt.param != "" && field(body, "error", "param") != tt.param) {
			t.Errorf("%s: %d %v, want %d naming %q", tt.body, code, body, tt.want, tt.param)
		}
	}
	_, body, _ := e.do("GET", "/key/list?return_full_object=true&key_alias=agent", "")
	keys, _ := field(body, "keys").([]any)
	if len(keys) != 1 || field(keys[0], "blocked") != true || field(keys[0], "key_alias") != "agent" {
		t.Errorf("after update by alias: %v", body)
	}
}
