package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestToolParams(t *testing.T) {
	m := map[string]any{"allowed_params": map[string]any{
		"search":     []any{"q"},
		"docs-fetch": []any{"url", "x"},
		"fetch":      []any{"ignored"}, // the prefixed entry wins
	}}
	rows := []toolRow{
		{Name: "search", Schema: `{"type":"object","properties":{"q":{"type":"string"},"limit":{"type":"integer"}}}`},
		{Name: "fetch", Schema: `{"type":"object","properties":{"url":{"type":"string"}}}`},
		{Name: "free", Schema: `{}`},
	}
	got := toolParams(m, rows, "docs-")
	want := map[string]*paramsRow{
		"search": {Restricted: true, Allowed: []string{"q"}, Choices: []paramChoice{{Name: "limit"}, {Name: "q", Checked: true}}},
		"fetch":  {Restricted: true, Allowed: []string{"url", "x"}, Choices: []paramChoice{{Name: "url", Checked: true}}, Extra: "x"},
		"free":   {Allowed: nil},
	}
	for name, w := range want {
		if g := got[name]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %+v, want %+v", name, g, w)
		}
	}
}

// apiGet reads a server through the admin API with the master key.
func apiGet(t *testing.T, api http.Handler, id string) map[string]any {
	t.Helper()
	req := httptest.NewRequest("GET", "/v1/mcp/server/"+url.PathEscape(id), nil)
	req.Header.Set("Authorization", "Bearer "+master)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("GET server %s: %d %s", id, rec.Code, rec.Body)
	}
	return m
}

func TestSaveParams(t *testing.T) {
	var api http.Handler
	e := newEnvWith(t, func(o *Options) { api = o.API })
	csrf := e.signedIn()
	if resp, _ := e.do("POST", "/ui/server", url.Values{"csrf": {csrf}, "transport": {"http"}, "server_name": {"docs"}, "url": {"https://docs.example/mcp"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add server: %d", resp.StatusCode)
	}
	_, page := e.do("GET", "/ui/servers", nil)
	id := regexp.MustCompile(`/ui/server\?id=([0-9a-f-]{36})`).FindStringSubmatch(page)[1]
	// An entry under the prefixed name, and another tool's.
	body, _ := json.Marshal(map[string]any{"server_id": id, "allowed_params": map[string]any{"docs-search": []string{"old"}, "other": []string{"a"}}})
	req := httptest.NewRequest("PUT", "/v1/mcp/server", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+master)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Fatalf("PUT allowed_params: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		form  url.Values
		flash string
		want  map[string]any
	}{
		{url.Values{"tool": {"search"}, "param": {"q", "limit"}, "extra": {"limit, page"}}, "search takes only: q, limit, page.",
			map[string]any{"search": []any{"q", "limit", "page"}, "other": []any{"a"}}},
		// "only" with every name unchecked: no parameters, not any (the
		// page shows "only none"; saved as shown, it stays so).
		{url.Values{"tool": {"search"}, "restrict": {"on"}}, "search takes no parameters.",
			map[string]any{"search": []any{}, "other": []any{"a"}}},
		{url.Values{"tool": {"search"}, "restrict": {"on"}}, "search takes no parameters.",
			map[string]any{"search": []any{}, "other": []any{"a"}}},
		{url.Values{"tool": {"search"}}, "search takes any parameters.",
			map[string]any{"other": []any{"a"}}},
	} {
		c.form.Set("csrf", csrf)
		c.form.Set("server_id", id)
		resp, _ := e.do("POST", "/ui/tools/params", c.form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/tools?server="+id {
			t.Fatalf("%v: %d %q", c.form, resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, page := e.do("GET", "/ui/tools?server="+id, nil); !strings.Contains(page, c.flash) {
			t.Errorf("%v: no flash %q", c.form, c.flash)
		}
		if got := apiGet(t, api, id)["allowed_params"]; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v: allowed_params %v, want %v", c.form, got, c.want)
		}
	}
	// A config-file server: the API refuses (409), nothing changes.
	if resp, page := e.do("POST", "/ui/tools/params", url.Values{"csrf": {csrf}, "server_id": {"wiki"}, "tool": {"search"}, "param": {"q"}}); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "config file") {
		t.Errorf("a config-file server: %d\n%s", resp.StatusCode, page)
	}
}

// The editor on the Tools page: the schema's properties as checkboxes
// (a hostile name or description escaped); read-only for a config-file
// server.
func TestParamsEditor(t *testing.T) {
	e := newEnv(t)
	e.signedIn()
	_, page := e.do("GET", "/ui/tools?server=wiki", nil)
	for _, want := range []string{
		`<details data-params="search"><summary>any</summary>`,
		`<input type="checkbox" form="params-0" name="restrict" value="on"> Only`,
		`<input type="checkbox" form="params-0" name="param" value="q"> q</label>`,
		`id="params-extra-0" form="params-0" name="extra" value=""`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the tools page lacks %s", want)
		}
	}
	if strings.Contains(page, "Save parameters") || strings.Contains(page, `action="/ui/tools/params"`) {
		t.Error("a config-file server's parameters are editable")
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("not escaped")
	}
	if t.Failed() {
		t.Log(page)
	}
}

// A tool that may take no parameters shows "only none" with "only"
// checked, so that saving the editor as shown keeps it so.
func TestParamsEditorOnlyNone(t *testing.T) {
	e := newEnvFrom(t, strings.Replace(fileConfig, "    access_groups: [docs]\n", "    access_groups: [docs]\n    allowed_params: {search: []}\n", 1), nil)
	e.signedIn()
	_, page := e.do("GET", "/ui/tools?server=wiki", nil)
	for _, want := range []string{
		`<details data-params="search"><summary>only none</summary>`,
		`<input type="checkbox" form="params-0" name="restrict" value="on" checked> Only`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the tools page lacks %s\n%s", want, page)
		}
	}
}
