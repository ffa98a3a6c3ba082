package openapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams/openapi/petstore"
)

// loadAgainst loads a spec file with its base URL pointing at h, served
// under prefix.
func loadAgainst(t *testing.T, specFile, prefix string, h http.Handler, mod func(*Options)) *API {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := Options{Alias: "pets", SpecPath: specFile, BaseURL: srv.URL + prefix, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	api, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func call(t *testing.T, api *API, tool, args string) *mcp.CallToolResult {
	t.Helper()
	res, err := api.Call(context.Background(), tool, json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// TestPetstoreCalls runs the seed's calls and a few more against the
// local stand-in, for both the OpenAPI 3.0 and the Swagger 2.0 spec.
func TestPetstoreCalls(t *testing.T) {
	for _, tc := range []struct{ spec, prefix string }{
		{"testdata/petstore-openapi3.yaml", "/api/v3"},
		{"testdata/petstore-swagger2.json", "/v2"},
	} {
		t.Run(filepath.Base(tc.spec), func(t *testing.T) {
			store := petstore.New()
			api := loadAgainst(t, tc.spec, tc.prefix, store, func(o *Options) {
				o.Headers = map[string]string{"Authorization": "Bearer s3cret"}
			})

			res := call(t, api, "getpetbyid", `{"petId": "1"}`)
			sc, _ := res.StructuredContent.(map[string]any)
			if res.IsError || !strings.Contains(text(res), `"name":"doggie"`) || sc["name"] != "doggie" {
				t.Fatalf("getpetbyid = %+v", res)
			}
			if got := store.Last(); got.RawPath != "/pet/1" || got.Header.Get("Authorization") != "Bearer s3cret" {
				t.Errorf("request path %q, auth %q", got.RawPath, got.Header.Get("Authorization"))
			}

			status := `{"status": "available"}`
			if strings.Contains(tc.spec, "swagger2") {
				status = `{"status": ["available", "pending"]}`
			}
			res = call(t, api, "findpetsbystatus", status)
			list, _ := res.StructuredContent.(map[string]any)["result"].([]any)
			if res.IsError || len(list) == 0 || !strings.HasPrefix(text(res), "[") {
				t.Fatalf("findpetsbystatus = %+v", res)
			}
			if strings.Contains(tc.spec, "swagger2") && store.Last().RawQuery != "status=available&status=pending" {
				t.Errorf("query = %q", store.Last().RawQuery)
			}

			res = call(t, api, "getpetbyid", `{"petId": 99}`)
			if !res.IsError || text(res) != `HTTP 404 Not Found: {"code":404,"message":"Pet not found","type":"error"}` {
				t.Errorf("missing pet = %q (isError %v)", text(res), res.IsError)
			}

			res = call(t, api, "addpet", `{"body": {"name": "rex", "photoUrls": [], "status": "available", "category": {"id": 0, "name": ""}}}`)
			if res.IsError || !strings.Contains(text(res), `"name":"rex"`) {
				t.Fatalf("addpet = %q", text(res))
			}
			if got := store.Last(); got.Header.Get("Content-Type") != "application/json" || !strings.Contains(got.Body, `"category":{"id":0,"name":""}`) {
				t.Errorf("addpet sent %q %s", got.Header.Get("Content-Type"), got.Body)
			}

			res = call(t, api, "deletepet", `{"petId": 3, "api_key": "k-123"}`)
			if res.IsError || text(res) != "HTTP 200 OK (no content)" || store.Last().Header.Get("Api_key") != "k-123" {
				t.Errorf("deletepet = %q, api_key header %q", text(res), store.Last().Header.Get("Api_key"))
			}

			res = call(t, api, "loginuser", `{"username": "theUser", "password": "pw"}`)
			if res.IsError || text(res) != "Logged in user session: theUser" || res.StructuredContent != nil {
				t.Errorf("loginuser = %+v", res)
			}

			res = call(t, api, "getpetbyid", `{}`)
			if !res.IsError || text(res) != `getpetbyid: missing required argument "petId" (path parameter petId)` {
				t.Errorf("no petId = %q", text(res))
			}
		})
	}
}

// echoSpec has one operation of each parameter kind; echo answers with
// what it received.
const echoSpec = `openapi: 3.1.0
info: {title: echo, version: "1"}
paths:
  /items/{id}/{label}{matrix}:
    get:
      operationId: show
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
        - {name: label, in: path, required: true, style: label, schema: {type: array, items: {type: string}}}
        - {name: matrix, in: path, required: true, style: matrix, explode: true, schema: {type: object}}
        - {name: n, in: query, schema: {type: integer}}
        - {name: flag, in: query, schema: {type: boolean}}
        - {name: s, in: query, schema: {type: string}}
        - {name: tags, in: query, explode: false, schema: {type: array, items: {type: string}}}
        - {name: filter, in: query, style: deepObject, schema: {type: object}}
        - {name: X-Trace, in: header, schema: {type: string}}
        - {name: X-Api-Key, in: header, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
      responses: {"200": {description: ok}}
  /blob:
    get:
      operationId: blob
      responses: {"200": {description: ok}}
  /slow:
    get:
      operationId: slow
      responses: {"200": {description: ok}}
  /num:
    get:
      operationId: num
      responses: {"200": {description: ok}}
`

func echoServer() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
	})
	m.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	m.HandleFunc("/num", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("12345678901234567890"))
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"path": r.URL.EscapedPath(), "query": r.URL.RawQuery,
			"trace": r.Header.Get("X-Trace"), "key": r.Header.Get("X-Api-Key"), "cookie": r.Header.Get("Cookie"),
		})
	})
	return m
}

func TestRequestSerialization(t *testing.T) {
	dir := t.TempDir()
	specFile := filepath.Join(dir, "echo.yaml")
	os.WriteFile(specFile, []byte(echoSpec), 0o600)
	api := loadAgainst(t, specFile, "/base", echoServer(), func(o *Options) {
		o.Headers = map[string]string{"X-Api-Key": "configured"}
		o.Timeout = 300 * time.Millisecond
	})
	got := func(args string) map[string]any {
		t.Helper()
		res := call(t, api, "show", args)
		if res.IsError {
			t.Fatalf("show %s: %s", args, text(res))
		}
		return res.StructuredContent.(map[string]any)
	}
	// 0, false and "" are sent, not dropped.
	r := got(`{"id": "a", "label": ["x"], "matrix": {"k": "v"}, "n": 0, "flag": false, "s": ""}`)
	if r["query"] != "n=0&flag=false&s=" || r["path"] != "/items/a/.x;k=v" {
		t.Errorf("zero values: %v", r)
	}
	// (The stand-in sees paths below /base.) Path values stay inside their
	// segment; styles and explode apply.
	r = got(`{"id": "a/b c?", "label": ["x", "y"], "matrix": {"a": "1", "b": "2"}, "tags": ["p", "q"], "filter": {"color": "red"}, "X-Trace": "t1", "X-Api-Key": "from-caller", "session": "abc def"}`)
	if r["path"] != "/items/a%2Fb%20c%3F/.x,y;a=1;b=2" {
		t.Errorf("path = %v", r["path"])
	}
	if r["query"] != "tags=p%2Cq&filter%5Bcolor%5D=red" {
		t.Errorf("query = %v", r["query"])
	}
	// Header parameters are sent; configured credentials win.
	if r["trace"] != "t1" || r["key"] != "configured" || r["cookie"] != "session=abc+def" {
		t.Errorf("headers/cookie = %v", r)
	}

	for _, tt := range []struct{ args, want string }{
		{`{"id": "..", "label": ["x"], "matrix": {}}`, `show: a path parameter value must not be ".."`},
		{`{"id": ".", "label": ["x"], "matrix": {}}`, `show: a path parameter value must not be "."`},
		{`{"id": "", "label": ["x"], "matrix": {}}`, `show: argument "id": a path parameter must not be empty`},
		{`{"id": "a", "label": ["x"], "matrix": {}, "X-Trace": "a\r\nEvil: 1"}`, `show: argument "X-Trace": must not contain line breaks or NUL`},
		{`[1, 2]`, `arguments must be a JSON object`},
	} {
		res := call(t, api, "show", tt.args)
		if !res.IsError || text(res) != tt.want {
			t.Errorf("show %s = %q (isError %v), want %q", tt.args, text(res), res.IsError, tt.want)
		}
	}

	// Binary answers become a base64 resource; non-object JSON is wrapped;
	// a timeout is a tool error naming the operation, not the URL.
	res := call(t, api, "blob", `{}`)
	er, ok := res.Content[0].(*mcp.EmbeddedResource)
	if !ok || er.Resource.MIMEType != "image/png" || len(er.Resource.Blob) != 7 || strings.Contains(er.Resource.URI, "?") {
		t.Errorf("blob = %+v", res.Content[0])
	}
	data, _ := json.Marshal(res)
	if !strings.Contains(string(data), `"blob":"iVBORwABAg=="`) {
		t.Errorf("blob on the wire: %s", data)
	}
	res = call(t, api, "num", `{}`)
	if n := res.StructuredContent.(map[string]any)["result"]; n != json.Number("12345678901234567890") || text(res) != "12345678901234567890" {
		t.Errorf("num = %+v", res)
	}
	res = call(t, api, "slow", `{}`)
	if !res.IsError || text(res) != "GET /slow failed: no response within 300ms" {
		t.Errorf("slow = %q", text(res))
	}
	if _, err := api.Call(context.Background(), "nope", nil); err == nil {
		t.Error("unknown tool: no error")
	}
}

func TestBaseURL(t *testing.T) {
	spec := "https://api.example.com/specs/openapi.json"
	tests := []struct{ configured, server, location, want, err string }{
		{"https://x.example/v1/", "/ignored", "", "https://x.example/v1", ""},
		{"", "https://api.example.com/v2", "", "https://api.example.com/v2", ""},
		{"", "/api/v3", spec, "https://api.example.com/api/v3", ""},
		{"", "", spec, "https://api.example.com", ""},
		{"", "/api/v3", "file:///tmp/s.yaml", "", "is relative and the spec is a file: set url"},
		{"ftp://x", "", "", "", "url must be an absolute http(s) URL"},
	}
	for _, tt := range tests {
		var loc *urlT
		if tt.location != "" {
			loc = mustURL(tt.location)
		}
		u, err := baseURL(tt.configured, tt.server, loc)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: err = %v", tt, err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("%+v: got %v, %v", tt, u, err)
		}
	}
}
