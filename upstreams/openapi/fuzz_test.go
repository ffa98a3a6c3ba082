package openapi

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"
)

// FuzzConvert feeds arbitrary documents to the converter: it must never
// panic, and every tool it returns must be servable (a valid, unique name
// and an object input schema that encodes), with requests that build.
func FuzzConvert(f *testing.F) {
	for _, name := range []string{"petstore-swagger2.json", "petstore-openapi3.yaml", "train-travel-openapi31.yaml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(miniSpec))
	f.Add([]byte(echoSpec))
	f.Add([]byte(`{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{"/a/{b}":{"get":{"parameters":[{"name":"b","in":"path","required":true,"type":"string"}],"responses":{"200":{"description":"ok"}}}}}}`))
	f.Add([]byte("openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /x:\n    post:\n      requestBody: {content: {application/json: {schema: true}}}\n"))
	f.Add([]byte("openapi: 3.0.0\npaths: {'/{a}{b}': {get: {}}}\n"))
	base, _ := url.Parse("http://127.0.0.1:1/base")
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		spec, err := Convert(ctx, data, nil, false)
		if err != nil {
			return
		}
		api := &API{opts: Options{Timeout: time.Second}, base: base}
		seen := map[string]bool{}
		for _, tool := range spec.Tools {
			if tool.Name == "" || len(tool.Name) > maxToolName || sanitize(tool.Name) != tool.Name && tool.Name != "operation" {
				t.Fatalf("bad tool name %q", tool.Name)
			}
			if seen[tool.Name] {
				t.Fatalf("duplicate tool name %q", tool.Name)
			}
			seen[tool.Name] = true
			if tool.InputSchema["type"] != "object" {
				t.Fatalf("%s: input schema type %v", tool.Name, tool.InputSchema["type"])
			}
			if _, err := json.Marshal(tool.InputSchema); err != nil {
				t.Fatalf("%s: schema does not encode: %v", tool.Name, err)
			}
			args := map[string]any{}
			_, _ = api.request(ctx, tool, args)
			for name := range tool.InputSchema["properties"].(map[string]any) {
				args[name] = "x/../y"
			}
			_, _ = api.request(ctx, tool, args)
		}
	})
}
