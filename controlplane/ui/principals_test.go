package ui

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// isChecked reports whether the page has the checkbox name=value checked.
func isChecked(page, name, value string) bool {
	re := regexp.MustCompile(`<input type="checkbox" name="` + regexp.QuoteMeta(name) + `" value="` + regexp.QuoteMeta(html.EscapeString(value)) + `"( checked)?>`)
	m := re.FindStringSubmatch(page)
	return m != nil && m[1] != ""
}

// createKey makes a key through the UI and returns its token.
func (e *env) createKey(csrf, alias string, form url.Values) string {
	e.t.Helper()
	f := url.Values{"csrf": {csrf}, "key_alias": {alias}}
	for k, v := range form {
		f[k] = v
	}
	if resp, page := e.do("POST", "/ui/keys", f); resp.StatusCode != http.StatusOK {
		e.t.Fatalf("create key %s: %d\n%s", alias, resp.StatusCode, page)
	}
	_, page := e.do("GET", "/ui/keys?q="+url.QueryEscape(alias), nil)
	m := regexp.MustCompile(`href="/ui/key\?key=([0-9a-f]{64})"`).FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no edit link for %s:\n%s", alias, page)
	}
	return m[1]
}

func TestKeyEdit(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	token := e.createKey(csrf, "reader", url.Values{"groups": {"docs"}})
	resp, page := e.do("GET", "/ui/key?key="+token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="reader"`) || !isChecked(page, "groups", "docs") ||
		isChecked(page, "servers", "wiki") || !strings.Contains(page, `data-perm-server="wiki"`) || !strings.Contains(page, `data-perm-tool="search"`) ||
		isChecked(page, "only_0", "on") {
		t.Fatalf("edit page: %d\n%s", resp.StatusCode, page)
	}
	base := url.Values{"csrf": {csrf}, "token": {token}, "tool_server": {"wiki"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
		return f
	}
	steps := []struct {
		name  string
		form  url.Values
		check func(page string) bool
	}{
		{"bind wiki, only search, blocked, renamed", with("key_alias", "reader2", "servers", "wiki", "only_0", "on", "allow_0", "search", "blocked", "true", "expires", "2031-01-31"),
			func(p string) bool {
				return strings.Contains(p, `value="reader2"`) && isChecked(p, "servers", "wiki") && !isChecked(p, "groups", "docs") &&
					isChecked(p, "only_0", "on") && isChecked(p, "allow_0", "search") && !isChecked(p, "deny_0", "search") &&
					strings.Contains(p, `id="blocked" name="blocked" value="true" checked`) && strings.Contains(p, `value="2031-01-31T00:00:00Z"`)
			}},
		{"search never, restriction lifted, unblocked, no expiry", with("key_alias", "reader2", "servers", "wiki", "deny_0", "search"),
			func(p string) bool {
				return !isChecked(p, "only_0", "on") && !isChecked(p, "allow_0", "search") && isChecked(p, "deny_0", "search") &&
					!strings.Contains(p, `value="true" checked`) && strings.Contains(p, `id="expires" name="expires" value=""`)
			}},
		{"nothing bound", with("key_alias", "reader2"),
			func(p string) bool { return !isChecked(p, "servers", "wiki") && !isChecked(p, "deny_0", "search") }},
	}
	for _, st := range steps {
		resp, _ := e.do("POST", "/ui/key", st.form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/access?key="+token {
			t.Fatalf("%s: %d to %q", st.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		_, page := e.do("GET", "/ui/key?key="+token, nil)
		if !st.check(page) || !strings.Contains(page, "Key reader2 saved.") {
			t.Errorf("%s: the edit page after saving:\n%s", st.name, page)
		}
	}

	// Two admins edit the key from the same version: the second save is
	// refused (409), not applied over the first.
	_, page = e.do("GET", "/ui/key?key="+token, nil)
	ver := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page)
	if ver == nil {
		t.Fatalf("no version on the form:\n%s", page)
	}
	if resp, _ := e.do("POST", "/ui/key", with("version", ver[1], "key_alias", "first")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first save: %d", resp.StatusCode)
	}
	resp, page = e.do("POST", "/ui/key", with("version", ver[1], "key_alias", "second"))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "version mismatch") {
		t.Errorf("a save from a stale form: %d\n%s", resp.StatusCode, page)
	}
	if _, page = e.do("GET", "/ui/key?key="+token, nil); !strings.Contains(page, `value="first"`) {
		t.Errorf("the stale save was applied:\n%s", page)
	}

	// The access page shows the key's own tool permissions.
	e.do("POST", "/ui/key", with("key_alias", "reader2", "only_0", "on", "allow_0", "search"))
	_, page = e.do("GET", "/ui/access?key="+token, nil)
	if !strings.Contains(page, "Tool permissions</dt><dd>wiki: only search") || !strings.Contains(page, `href="/ui/key?key=`+token+`">Edit the key`) {
		t.Errorf("access page:\n%s", page)
	}

	// The validator's problems land on their fields; nothing is saved.
	for _, c := range []struct {
		form url.Values
		id   string
	}{
		{with("expires", "next tuesday"), "expires-error"},
		{with("duration", "forever"), "duration-error"},
		{with("servers", "ghost"), "servers-error"},
		{with("team_id", "no-such-team"), "team_id-error"},
	} {
		resp, page := e.do("POST", "/ui/key", c.form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="`+c.id+`"`) {
			t.Errorf("%v: %d, want 400 with %s\n%s", c.form, resp.StatusCode, c.id, page)
		}
	}
	_, page = e.do("GET", "/ui/key?key="+token, nil)
	if isChecked(page, "servers", "ghost") || !strings.Contains(page, `value="reader2"`) {
		t.Errorf("a refused edit changed the key:\n%s", page)
	}
}

func TestPermPatch(t *testing.T) {
	perm := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name      string
		cur, form string
		want      string
	}{
		{"nothing stored, nothing chosen: lists stay unset", `{}`, ``, `{}`},
		{"a server chosen", `{}`, `servers=wiki`, `{"mcp_servers":["wiki"]}`},
		{"stored lists emptied", `{"mcp_servers":["wiki"],"mcp_access_groups":["docs"]}`, ``, `{"mcp_access_groups":[],"mcp_servers":[]}`},
		{"only some tools", `{}`, `tool_server=wiki&only_0=on&allow_0=search`, `{"mcp_tool_permissions":{"wiki":["search"]}}`},
		{"only, none checked: no tool", `{}`, `tool_server=wiki&only_0=on`, `{"mcp_tool_permissions":{"wiki":[]}}`},
		{"a removed entry is null", `{"mcp_tool_permissions":{"wiki":["a"]},"mcp_disallowed_tools":{"w":["b"]}}`, `tool_server=wiki&tool_server=git&deny_1=push`,
			`{"mcp_disallowed_tools":{"git":["push"],"w":null},"mcp_tool_permissions":{"wiki":null}}`},
		{"other groups typed", `{}`, `groups=docs&extra_groups=a,+b`, `{"mcp_access_groups":["docs","a","b"]}`},
	} {
		f, err := url.ParseQuery(c.form)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(permPatch(perm(c.cur), postedPerm(f)))
		if string(got) != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

const readOnlyConfig = fileConfig + `access:
  keys:
    - key_alias: file-key
      key: sk-file-key-0123456789
  teams:
    - team_id: file-team
  organizations:
    - organization_id: file-org
`

func TestConfigFilePrincipalsReadOnly(t *testing.T) {
	e := newEnvFrom(t, readOnlyConfig, nil)
	e.signedIn()
	_, page := e.do("GET", "/ui/keys", nil)
	m := regexp.MustCompile(`href="/ui/key\?key=([0-9a-f]{64})">View<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no View link for the config file's key:\n%s", page)
	}
	for _, path := range []string{"/ui/key?key=" + m[1], "/ui/team?id=file-team", "/ui/org?id=file-org"} {
		resp, page := e.do("GET", path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "comes from the config file and is read-only") ||
			strings.Contains(page, `<button type="submit">Save`) || strings.Contains(page, "<fieldset>") {
			t.Errorf("%s: %d, not read-only\n%s", path, resp.StatusCode, page)
		}
	}
}

func TestOrganizations(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	_, page := e.do("GET", "/ui/orgs", nil)
	if !strings.Contains(page, "No organizations yet.") {
		t.Errorf("empty state:\n%s", page)
	}
	resp, _ := e.do("POST", "/ui/orgs", url.Values{"csrf": {csrf}, "organization_alias": {"acme"}, "groups": {"docs"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/orgs", nil)
	id := regexp.MustCompile(`href="/ui/org\?id=([^"]+)">Edit<`).FindStringSubmatch(page)
	if !strings.Contains(page, "Organization acme created.") || !strings.Contains(page, `<tr data-org="acme">`) || id == nil {
		t.Fatalf("orgs page after creating:\n%s", page)
	}
	// A second one with the same alias: the API's conflict, shown.
	resp, page = e.do("POST", "/ui/orgs", url.Values{"csrf": {csrf}, "organization_alias": {"acme"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "already used") {
		t.Errorf("a duplicate alias: %d\n%s", resp.StatusCode, page)
	}
	// Edit: a tool permission on wiki.
	_, page = e.do("GET", "/ui/org?id="+id[1], nil)
	if !isChecked(page, "groups", "docs") || !strings.Contains(page, `data-perm-tool="search"`) {
		t.Fatalf("org edit page:\n%s", page)
	}
	resp, _ = e.do("POST", "/ui/org", url.Values{"csrf": {csrf}, "id": {id[1]}, "alias": {"acme corp"}, "servers": {"wiki"},
		"tool_server": {"wiki"}, "deny_0": {"search"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/orgs" {
		t.Fatalf("save org: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = e.do("GET", "/ui/orgs", nil)
	if !strings.Contains(page, "Organization acme corp saved.") || !strings.Contains(page, "wiki: not search") {
		t.Errorf("orgs page after the edit:\n%s", page)
	}
	// A team in it.
	if resp, _ := e.do("POST", "/ui/teams", url.Values{"csrf": {csrf}, "team_alias": {"platform"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create team: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/teams", nil)
	tid := regexp.MustCompile(`href="/ui/team\?id=([^"]+)">Edit<`).FindStringSubmatch(page)
	if tid == nil {
		t.Fatalf("no team edit link:\n%s", page)
	}
	resp, _ = e.do("POST", "/ui/team", url.Values{"csrf": {csrf}, "id": {tid[1]}, "alias": {"platform"}, "organization_id": {id[1]},
		"groups": {"docs"}, "tool_server": {"wiki"}, "only_0": {"on"}, "allow_0": {"search"}, "blocked": {"true"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save team: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/teams", nil)
	if !strings.Contains(page, "Team platform saved.") || !strings.Contains(page, "<code>"+id[1]+"</code>") || !strings.Contains(page, "wiki: only search") ||
		!strings.Contains(page, `status unhealthy">blocked`) {
		t.Errorf("teams page after the edit:\n%s", page)
	}
	_, page = e.do("GET", "/ui/team?id="+tid[1], nil)
	if !strings.Contains(page, `<option value="`+id[1]+`" selected>acme corp</option>`) || !isChecked(page, "allow_0", "search") {
		t.Errorf("team edit page:\n%s", page)
	}
	// A save from a stale form is refused.
	ver := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page)
	if ver == nil {
		t.Fatalf("no version on the team form:\n%s", page)
	}
	e.do("POST", "/ui/team", url.Values{"csrf": {csrf}, "id": {tid[1]}, "alias": {"platform"}, "version": {ver[1]}})
	if resp, page := e.do("POST", "/ui/team", url.Values{"csrf": {csrf}, "id": {tid[1]}, "alias": {"other"}, "version": {ver[1]}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("a stale team save: %d\n%s", resp.StatusCode, page)
	}
	// A refused edit: an unknown organization, on its field.
	resp, page = e.do("POST", "/ui/team", url.Values{"csrf": {csrf}, "id": {tid[1]}, "alias": {"platform"}, "organization_id": {"nope"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="organization_id-error"`) {
		t.Errorf("an unknown organization: %d\n%s", resp.StatusCode, page)
	}
	// Delete.
	if resp, _ := e.do("POST", "/ui/orgs/delete", url.Values{"csrf": {csrf}, "organization_id": {id[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/orgs", nil)
	if strings.Contains(page, `data-org="acme corp"`) || !strings.Contains(page, "Organization deleted.") {
		t.Errorf("a deleted organization is listed:\n%s", page)
	}
}

func TestPrincipalPagesCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	for _, path := range []string{"/ui/key", "/ui/team", "/ui/org", "/ui/orgs", "/ui/orgs/delete"} {
		for _, token := range []string{"", "x" + csrf} {
			if resp, _ := e.do("POST", path, url.Values{"csrf": {token}, "organization_alias": {"evil"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with token %.4q: %d, want 403", path, token, resp.StatusCode)
			}
		}
	}
	if _, page := e.do("GET", "/ui/orgs", nil); strings.Contains(page, "evil") {
		t.Error("a POST without the CSRF token created an organization")
	}
}

func TestPrincipalNamesEscaped(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	token := e.createKey(csrf, "k1", url.Values{"extra_groups": {xss}})
	if resp, _ := e.do("POST", "/ui/orgs", url.Values{"csrf": {csrf}, "organization_alias": {xss}, "groups": {xss}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create org: %d", resp.StatusCode)
	}
	if resp, _ := e.do("POST", "/ui/teams", url.Values{"csrf": {csrf}, "team_alias": {xss}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create team: %d", resp.StatusCode)
	}
	_, orgs := e.do("GET", "/ui/orgs", nil)
	id := regexp.MustCompile(`href="/ui/org\?id=([^"]+)"`).FindStringSubmatch(orgs)
	if id == nil {
		t.Fatalf("no org:\n%s", orgs)
	}
	for _, path := range []string{"/ui/orgs", "/ui/teams", "/ui/key?key=" + token, "/ui/org?id=" + id[1]} {
		_, page := e.do("GET", path, nil)
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;script&gt;alert(2)") {
			t.Errorf("%s: a hostile name is not escaped:\n%s", path, page)
		}
	}
}

func TestTeamsPaging(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	const n = 105
	for i := range n {
		if resp, _ := e.do("POST", "/ui/teams", url.Values{"csrf": {csrf}, "team_alias": {fmt.Sprintf("t%03d", i)}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create team %d: %d", i, resp.StatusCode)
		}
	}
	rows := regexp.MustCompile(`<tr data-team="`)
	_, page := e.do("GET", "/ui/teams", nil)
	if got := len(rows.FindAllString(page, -1)); got != pageSize || !strings.Contains(page, "Page 1 of 2 (105 rows)") {
		t.Errorf("teams page 1: %d rows", got)
	}
	_, page = e.do("GET", "/ui/teams?page=2", nil)
	if got := len(rows.FindAllString(page, -1)); got != n-pageSize {
		t.Errorf("teams page 2: %d rows", got)
	}
	_, page = e.do("GET", "/ui/teams?q=T10", nil)
	if got := len(rows.FindAllString(page, -1)); got != 5 || strings.Contains(page, "Page 1") {
		t.Errorf("search t10: %d rows", got)
	}
	_, page = e.do("GET", "/ui/teams?q=nothing-like-it", nil)
	if !strings.Contains(page, "No team matches") {
		t.Errorf("an empty search")
	}
}

func TestPlaceProblems(t *testing.T) {
	newB := func() *bindings {
		return &bindings{Errors: map[string]string{}, ToolServers: []permServer{{Name: "wiki", Alias: "w"}, {Name: "a/b"}}}
	}
	for _, c := range []struct {
		pointer string
		where   string // "servers", "groups", "tool:<name>", "field:<name>" or "rest"
	}{
		{"/object_permission/mcp_servers/0", "servers"},
		{"/object_permission/mcp_access_groups", "groups"},
		{"/object_permission/mcp_tool_permissions/wiki", "tool:wiki"},
		{"/object_permission/mcp_disallowed_tools/w/0", "tool:wiki"},
		{"/object_permission/mcp_tool_permissions/a~1b", "tool:a/b"},
		{"/object_permission/mcp_tool_permissions/ghost", "rest"},
		{"/object_permission/vector_stores", "rest"},
		{"/key_alias", "field:key_alias"},
		{"/expires", "field:expires"},
		{"/nope", "rest"},
		{"", "rest"},
	} {
		b, errs := newB(), map[string]string{}
		rest := b.placeProblems([]problem{{Pointer: c.pointer, Message: "bad"}}, keyFields, errs)
		got := "rest"
		switch {
		case len(rest) == 1:
		case b.Errors["servers"] != "":
			got = "servers"
		case b.Errors["groups"] != "":
			got = "groups"
		case b.ToolServers[0].Error != "":
			got = "tool:wiki"
		case b.ToolServers[1].Error != "":
			got = "tool:a/b"
		default:
			for f, m := range errs {
				if m != "" {
					got = "field:" + f
				}
			}
		}
		if got != c.where {
			t.Errorf("%q placed on %s, want %s", c.pointer, got, c.where)
		}
	}
}

// The bindings of any posted form make a patch that encodes, names only
// posted servers, and never grants a server by a tool permission.
func FuzzPostedPerm(f *testing.F) {
	f.Add("servers=wiki&groups=docs&extra_groups=a,b&tool_server=wiki&only_0=on&allow_0=search&deny_0=x")
	f.Add("tool_server=a&tool_server=b&only_1=1&deny_0=t&allow_5=z")
	f.Fuzz(func(t *testing.T, q string) {
		form, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		patch := permPatch(map[string]any{"mcp_tool_permissions": map[string]any{"old": []any{"x"}}}, postedPerm(form))
		if _, err := json.Marshal(patch); err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{"mcp_tool_permissions", "mcp_disallowed_tools"} {
			m, _ := patch[field].(map[string]any)
			for srv, v := range m {
				if v == nil {
					if srv != "old" {
						t.Errorf("%s: %q removed though never stored", field, srv)
					}
					continue
				}
				if !slices.Contains(form["tool_server"], srv) {
					t.Errorf("%s: %q was not posted", field, srv)
				}
			}
		}
		if l, ok := patch["mcp_servers"].([]string); ok && !slices.Equal(l, form["servers"]) {
			t.Errorf("mcp_servers %v, posted %v", l, form["servers"])
		}
	})
}

// A key is named by its token only: the key itself is refused (it must
// not travel in a URL), and so is anything else.
func TestKeyEditNamesKeysByToken(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	e.createKey(csrf, "named", nil)
	for _, v := range []string{"sk-abc", strings.Repeat("A", 64), strings.Repeat("0", 63), "../key/list"} {
		resp, page := e.do("GET", "/ui/key?key="+url.QueryEscape(v), nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "never by the key itself") {
			t.Errorf("GET with %q: %d\n%s", v, resp.StatusCode, page)
		}
		if resp, _ := e.do("POST", "/ui/key", url.Values{"csrf": {csrf}, "token": {v}, "key_alias": {"x"}}); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST with %q: %d", v, resp.StatusCode)
		}
	}
	if resp, _ := e.do("GET", "/ui/key?key="+strings.Repeat("0", 64), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown token: %d, want 404", resp.StatusCode)
	}
}

// Everything an upstream controls in the bindings editor (server and
// tool names) is escaped.
func TestBindingsEscaped(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	b := &bindings{Errors: map[string]string{"servers": xss}, Servers: []permChoice{{Name: xss, Checked: true}}, Groups: []permChoice{{Name: xss}},
		ToolServers: []permServer{{Name: xss, Only: true, Error: xss, Tools: []permTool{{Name: xss, Allowed: true}}}}}
	var out strings.Builder
	p := &page{Title: "t", Active: "keys", Data: &keyEdit{Token: strings.Repeat("0", 64), Alias: xss, Bind: b, Errors: map[string]string{"key_alias": xss}}}
	if err := pages["key"].ExecuteTemplate(&out, "layout", p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "<script>alert") || strings.Contains(out.String(), "<img src=x") || strings.Count(out.String(), "&lt;script&gt;alert(2)") < 6 {
		t.Errorf("a hostile name is not escaped:\n%s", out.String())
	}
}

// A key whose object_permission names a server by its server_id
// (LiteLLM's form, which the admin API takes) shows that binding and its
// tool permissions on the edit form, and a save of the form as shown
// keeps them: the entries were not found, so the save sent them as null
// and the key could use every tool of the server.
func TestKeyEditServerID(t *testing.T) {
	const id = "3f0c5b8e-1d2a-4c6b-9e7f-0a1b2c3d4e5f"
	var api http.Handler
	e := newEnvFrom(t, strings.Replace(fileConfig, "  wiki:\n", "  wiki:\n    server_id: "+id+"\n", 1), func(o *Options) { api = o.API })
	csrf := e.signedIn()
	adminCall := func(path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		method := http.MethodPost
		if body == nil {
			method = http.MethodGet
		}
		req := httptest.NewRequest(method, path, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer sk-ui-master-0123456789")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		var out map[string]any
		json.Unmarshal(rec.Body.Bytes(), &out)
		return out
	}
	gen := adminCall("/key/generate", map[string]any{"key_alias": "by-id", "object_permission": map[string]any{
		"mcp_servers": []string{id}, "mcp_tool_permissions": map[string]any{id: []string{"search"}},
		"mcp_disallowed_tools": map[string]any{id: []string{"drop"}}}})
	token := keyToken(gen["key"].(string))
	_, page := e.do("GET", "/ui/key?key="+token, nil)
	if !isChecked(page, "servers", "wiki") || !isChecked(page, "only_0", "on") || !isChecked(page, "allow_0", "search") ||
		!isChecked(page, "deny_0", "drop") || strings.Contains(page, `value="`+id+`"`) {
		t.Fatalf("the edit page does not show the bindings by server_id:\n%s", page)
	}
	// Saved as shown, with only the alias changed.
	resp, _ := e.do("POST", "/ui/key", url.Values{"csrf": {csrf}, "token": {token}, "key_alias": {"by-id-2"}, "tool_server": {"wiki"},
		"servers": {"wiki"}, "only_0": {"on"}, "allow_0": {"search"}, "deny_0": {"drop"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	info := adminCall("/key/info?key="+token, nil)["info"].(map[string]any)
	perm, _ := json.Marshal(info["object_permission"])
	var p struct {
		Only  map[string][]string `json:"mcp_tool_permissions"`
		Never map[string][]string `json:"mcp_disallowed_tools"`
	}
	json.Unmarshal(perm, &p)
	if !slices.Contains(slices.Concat(p.Only["wiki"], p.Only[id]), "search") || len(p.Only) == 0 ||
		!slices.Contains(slices.Concat(p.Never["wiki"], p.Never[id]), "drop") {
		t.Errorf("the save dropped the key's tool permissions: %s", perm)
	}
}

// A create form with nothing picked sends no list: an empty one would
// limit the team's (or organization's) keys to no server at all.
func TestPickedServers(t *testing.T) {
	for _, tc := range []struct {
		servers, groups string
		want            string
	}{
		{"", "", `{}`},
		{" , ", "", `{}`},
		{"wiki", "", `{"mcp_servers":["wiki"]}`},
		{"", "dev", `{"mcp_access_groups":["dev"]}`},
		{"wiki, jira", "dev", `{"mcp_access_groups":["dev"],"mcp_servers":["wiki","jira"]}`},
	} {
		got, _ := json.Marshal(pickedServers(url.Values{"servers": {tc.servers}, "groups": {tc.groups}}))
		if string(got) != tc.want {
			t.Errorf("servers %q groups %q: %s, want %s", tc.servers, tc.groups, got, tc.want)
		}
	}
}

// A list set and empty restricts (to no server); a list left out does
// not. The lists show which.
func TestNoServersShown(t *testing.T) {
	perm := func(doc string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		doc             string
		group, keyEmpty bool
	}{
		{`{}`, false, false},
		{`{"mcp_servers":null}`, false, false},
		{`{"mcp_servers":[]}`, true, true},
		{`{"mcp_access_groups":[]}`, true, false},
		{`{"mcp_servers":[],"mcp_access_groups":["dev"]}`, false, true},
		{`{"mcp_servers":["wiki"],"mcp_access_groups":[]}`, false, false},
	} {
		p := perm(tc.doc)
		if got := noServers(p); got != tc.group {
			t.Errorf("noServers(%s) = %v, want %v", tc.doc, got, tc.group)
		}
		if got := emptyList(p, "mcp_servers"); got != tc.keyEmpty {
			t.Errorf("emptyList(%s) = %v, want %v", tc.doc, got, tc.keyEmpty)
		}
	}

	e := newEnv(t)
	csrf := e.signedIn()
	e.do("POST", "/ui/teams", url.Values{"csrf": {csrf}, "team_alias": {"open"}})
	_, page := e.do("GET", "/ui/teams", nil)
	if strings.Contains(page, "no server") {
		t.Errorf("a team without lists is shown as restricted to no server:\n%s", page)
	}
	// A team whose only server is unticked on its edit page.
	e.do("POST", "/ui/teams", url.Values{"csrf": {csrf}, "team_alias": {"narrowed"}, "servers": {"wiki"}})
	_, page = e.do("GET", "/ui/teams?q=narrowed", nil)
	tid := regexp.MustCompile(`href="/ui/team\?id=([^"]+)">Edit<`).FindStringSubmatch(page)
	if tid == nil {
		t.Fatalf("no team edit link:\n%s", page)
	}
	_, form := e.do("GET", "/ui/team?id="+tid[1], nil)
	ver := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(form)
	if ver == nil {
		t.Fatalf("no version on the team form:\n%s", form)
	}
	resp, _ := e.do("POST", "/ui/team", url.Values{"csrf": {csrf}, "id": {tid[1]}, "alias": {"narrowed"}, "version": {ver[1]}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save team: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/teams?q=narrowed", nil)
	if !strings.Contains(page, "<em>no server</em>") {
		t.Errorf("a team whose lists are set and empty is not shown as restricted to no server:\n%s", page)
	}
}
