package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpgw/mcpgw/controlplane/admin"
)

// textareaOf is the text of the <textarea id=id> in page, unescaped.
func textareaOf(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no textarea %s in the page:\n%s", id, page)
	}
	return html.UnescapeString(m[1])
}

func TestConnectScopes(t *testing.T) {
	for _, c := range []struct {
		scope      connectScope
		path, name string
	}{
		{connectScope{Kind: "all"}, "/mcp", "mcpgw"},
		{connectScope{Kind: "servers", Servers: []string{"wiki", "git hub"}}, "/mcp/wiki,git%20hub", "mcpgw"},
		{connectScope{Kind: "servers"}, "", "mcpgw"},
		{connectScope{Kind: "group", Group: "docs"}, "/mcp/docs", "mcpgw-docs"},
		{connectScope{Kind: "group", Group: "a/b"}, "/mcp/a%2Fb", "mcpgw-a_b"},
		{connectScope{Kind: "server", Server: "wiki"}, "/wiki/mcp", "wiki"},
		{connectScope{Kind: "server", Server: `<x>"`}, "/%3Cx%3E%22/mcp", "_x_"},
		{connectScope{Kind: "server"}, "", "mcpgw"},
	} {
		if got := c.scope.path(); got != c.path {
			t.Errorf("%+v: path %q, want %q", c.scope, got, c.path)
		}
		if got := c.scope.label(); got != c.name {
			t.Errorf("%+v: label %q, want %q", c.scope, got, c.name)
		}
	}
}

func TestClientConfigs(t *testing.T) {
	cfgs := clientConfigs("http://gw.example:4000/mcp/docs", "x-litellm-api-key", "sk-abc", "mcpgw-docs")
	byID := map[string]string{}
	for _, c := range cfgs {
		byID[c.ID] = c.Text
	}
	var cursor struct {
		MCPServers map[string]struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(byID["cfg-cursor"]), &cursor); err != nil {
		t.Fatal(err)
	}
	if e := cursor.MCPServers["mcpgw-docs"]; e.URL != "http://gw.example:4000/mcp/docs" || e.Headers["x-litellm-api-key"] != "Bearer sk-abc" {
		t.Errorf("cursor config: %s", byID["cfg-cursor"])
	}
	var vscode struct {
		Servers map[string]map[string]any `json:"servers"`
	}
	if err := json.Unmarshal([]byte(byID["cfg-vscode"]), &vscode); err != nil || vscode.Servers["mcpgw-docs"]["type"] != "http" {
		t.Errorf("vs code config: %v %s", err, byID["cfg-vscode"])
	}
	var tool map[string]any
	if err := json.Unmarshal([]byte(byID["cfg-openai"]), &tool); err != nil {
		t.Fatal(err)
	}
	if tool["type"] != "mcp" || tool["server_label"] != "mcpgw-docs" || tool["server_url"] != "http://gw.example:4000/mcp/docs" ||
		tool["headers"].(map[string]any)["x-litellm-api-key"] != "Bearer sk-abc" {
		t.Errorf("responses tool: %s", byID["cfg-openai"])
	}
	py := byID["cfg-python"]
	for _, want := range []string{`StreamableHttpTransport(`, `"http://gw.example:4000/mcp/docs"`, `headers={"x-litellm-api-key": "Bearer sk-abc"}`} {
		if !strings.Contains(py, want) {
			t.Errorf("python snippet lacks %s:\n%s", want, py)
		}
	}
	if cli := byID["cfg-claude-cli"]; cli != `claude mcp add --transport http 'mcpgw-docs' 'http://gw.example:4000/mcp/docs' --header 'x-litellm-api-key: Bearer sk-abc'` {
		t.Errorf("claude command: %s", cli)
	}
	if got := shellQuote(`it's $(x)`); got != `'it'\''s $(x)'` {
		t.Errorf("shellQuote: %s", got)
	}
	// A quote in a value cannot end the Python string.
	py = clientConfigs(`http://h/"x`, "x-k", `k"); import os #`, "l")[4].Text
	if !strings.Contains(py, `"Bearer k\"); import os #"`) {
		t.Errorf("python snippet quoting:\n%s", py)
	}
}

func TestConnectPage(t *testing.T) {
	e := newEnv(t)
	e.signedIn()
	host := strings.TrimPrefix(e.srv.URL, "http://")
	for q, endpoint := range map[string]string{
		"":                                      "/mcp",
		"?scope=server&server=wiki":             "/wiki/mcp",
		"?scope=group&group=docs":               "/mcp/docs",
		"?scope=servers&servers=wiki&servers=b": "/mcp/wiki,b",
	} {
		resp, page := e.do("GET", "/ui/connect"+q, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("connect%s: %d", q, resp.StatusCode)
		}
		cur := textareaOf(t, page, "cfg-cursor")
		if !strings.Contains(cur, `"url": "http://`+host+endpoint+`"`) || !strings.Contains(cur, `"x-litellm-api-key": "Bearer <your key>"`) {
			t.Errorf("connect%s: cursor config\n%s", q, cur)
		}
		for _, id := range []string{"cfg-claude", "cfg-claude-cli", "cfg-vscode", "cfg-python", "cfg-openai"} {
			if !strings.Contains(textareaOf(t, page, id), endpoint) {
				t.Errorf("connect%s: %s lacks %s", q, id, endpoint)
			}
		}
	}
	_, page := e.do("GET", "/ui/connect?scope=group", nil)
	if !strings.Contains(page, "Pick an access group.") || strings.Contains(page, "cfg-cursor") {
		t.Errorf("a group scope without a group:\n%s", page)
	}
	// A hostile name in the query is escaped everywhere.
	_, page = e.do("GET", "/ui/connect?scope=group&group="+url.QueryEscape(xss), nil)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
		t.Errorf("the group name is not escaped:\n%s", page)
	}
	if !strings.Contains(textareaOf(t, page, "cfg-cursor"), "/mcp/%3Cimg%20src=x%20onerror=alert%281%29%3E%3Cscript%3Ealert%282%29%3C%2Fscript%3E") {
		t.Errorf("the hostile group is not path-escaped:\n%s", textareaOf(t, page, "cfg-cursor"))
	}
}

func TestCreatedKeyConfigs(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	_, page := e.do("POST", "/ui/keys", url.Values{"csrf": {csrf}, "key_alias": {"cfg"}, "groups": {"docs"}})
	key := regexp.MustCompile(`id="new-key" readonly value="(sk-[^"]+)"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatalf("no key:\n%s", page)
	}
	for _, id := range []string{"cfg-cursor", "cfg-claude", "cfg-claude-cli", "cfg-vscode", "cfg-python", "cfg-openai"} {
		if txt := textareaOf(t, page, id); !strings.Contains(txt, "Bearer "+key[1]) || !strings.Contains(txt, e.srv.URL+"/mcp") {
			t.Errorf("%s on the created page:\n%s", id, txt)
		}
	}
	// Nowhere else on the page (not in a heading, a note or a link).
	rest := regexp.MustCompile(`(?s)<textarea .*?</textarea>`).ReplaceAllString(page, "")
	rest = strings.Replace(rest, `value="`+key[1]+`"`, "", 1)
	if strings.Contains(rest, key[1]) {
		t.Errorf("the key is on the page outside its field and the configs")
	}
	_, page = e.do("GET", "/ui/connect", nil)
	if strings.Contains(page, key[1]) {
		t.Error("the Connect page shows the key")
	}
}

// fakeKeyTools answers like aggregate.Server.ToolsForToken: the XSS
// tool for good, a refusal for bad.
func fakeKeyTools(bad string) func(context.Context, string) ([]json.RawMessage, error) {
	return func(_ context.Context, token string) ([]json.RawMessage, error) {
		if token == bad {
			return nil, errors.New("Authentication failed: the gateway key has been revoked")
		}
		return fakeTools{}.ListTools(context.Background(), admin.Caller{})
	}
}

func TestAccessPage(t *testing.T) {
	var blocked string
	e := newEnvWith(t, func(o *Options) {
		o.KeyTools = func(ctx context.Context, token string) ([]json.RawMessage, error) {
			return fakeKeyTools(blocked)(ctx, token)
		}
	})
	csrf := e.signedIn()
	for _, alias := range []string{"reader", "gone"} {
		if resp, _ := e.do("POST", "/ui/keys", url.Values{"csrf": {csrf}, "key_alias": {alias}, "groups": {"docs"}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("create %s: %d", alias, resp.StatusCode)
		}
	}
	_, page := e.do("GET", "/ui/keys", nil)
	links := regexp.MustCompile(`href="/ui/access\?key=([0-9a-f]{64})"`).FindAllStringSubmatch(page, -1)
	if len(links) != 2 {
		t.Fatalf("access links: %v\n%s", links, page)
	}
	resp, page := e.do("GET", "/ui/access?key="+links[0][1], nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-access-server="wiki"`) || !strings.Contains(page, "wiki-search") ||
		!strings.Contains(page, "Bound access groups</dt><dd>docs") {
		t.Errorf("access page: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(2)") {
		t.Errorf("the tool description is not escaped")
	}
	blocked = links[1][1]
	_, page = e.do("GET", "/ui/access?key="+blocked, nil)
	if !strings.Contains(page, `data-testid="denied"`) || !strings.Contains(page, "revoked") {
		t.Errorf("a refused key:\n%s", page)
	}
	if resp, _ := e.do("GET", "/ui/access", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("no key: %d", resp.StatusCode)
	}
	// Without KeyTools the page says so.
	e2 := newEnv(t)
	e2.signedIn()
	_, page = e2.do("GET", "/ui/access?key="+strings.Repeat("0", 64), nil)
	if !strings.Contains(page, "not found") && !strings.Contains(page, "does not expose") {
		t.Errorf("without KeyTools:\n%s", page)
	}
}

func TestAuditAndPaging(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	const n = 105
	for i := range n {
		if resp, _ := e.do("POST", "/ui/keys", url.Values{"csrf": {csrf}, "key_alias": {fmt.Sprintf("k%03d", i)}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("create key %d: %d", i, resp.StatusCode)
		}
	}
	rows := regexp.MustCompile(`<tr data-audit="(\d+)"`)
	_, page := e.do("GET", "/ui/audit", nil)
	first := rows.FindAllStringSubmatch(page, -1)
	if len(first) != auditPageSize || !strings.Contains(page, "k104") || strings.Contains(page, "k000") {
		t.Fatalf("audit page 1: %d rows\n%s", len(first), page)
	}
	older := regexp.MustCompile(`href="(/ui/audit\?before_id=\d+)"`).FindStringSubmatch(page)
	if older == nil {
		t.Fatal("no Older link")
	}
	_, page = e.do("GET", html.UnescapeString(older[1]), nil)
	second := rows.FindAllStringSubmatch(page, -1)
	id := func(m []string) int { n, _ := strconv.Atoi(m[1]); return n }
	if len(second) != auditPageSize || id(second[0]) != id(first[len(first)-1])-1 || !strings.Contains(page, "Newest") {
		t.Errorf("audit page 2: %d rows, first %v after %v", len(second), second[0], first[len(first)-1])
	}
	_, page = e.do("GET", "/ui/audit?kind=team", nil)
	if !strings.Contains(page, "No audit entries match the filter") {
		t.Errorf("filter by team:\n%s", page)
	}

	// The keys list: 100 a page, then the rest; search across pages.
	_, page = e.do("GET", "/ui/keys", nil)
	keyRows := regexp.MustCompile(`<tr data-key="`)
	if got := len(keyRows.FindAllString(page, -1)); got != pageSize || !strings.Contains(page, "Page 1 of 2 (105 rows)") {
		t.Errorf("keys page 1: %d rows", got)
	}
	_, page = e.do("GET", "/ui/keys?page=2", nil)
	if got := len(keyRows.FindAllString(page, -1)); got != n-pageSize {
		t.Errorf("keys page 2: %d rows", got)
	}
	_, page = e.do("GET", "/ui/keys?q=K10", nil)
	if got := len(keyRows.FindAllString(page, -1)); got != 5 || strings.Contains(page, "Page 1") {
		t.Errorf("search k10: %d rows", got)
	}
	_, page = e.do("GET", "/ui/keys?q=nothing-like-it", nil)
	if !strings.Contains(page, "No key matches") {
		t.Errorf("an empty search")
	}
}

func TestPaginate(t *testing.T) {
	rows := make([]string, 250)
	for i := range rows {
		rows[i] = fmt.Sprintf("row-%03d", i)
	}
	for _, c := range []struct {
		query             string
		n, page, pages    int
		first, prev, next string
	}{
		{"", 100, 1, 3, "row-000", "", "/ui/keys?page=2"},
		{"page=2", 100, 2, 3, "row-100", "/ui/keys?page=1", "/ui/keys?page=3"},
		{"page=3", 50, 3, 3, "row-200", "/ui/keys?page=2", ""},
		{"page=99", 50, 3, 3, "row-200", "/ui/keys?page=2", ""},
		{"page=-1", 100, 1, 3, "row-000", "", "/ui/keys?page=2"},
		{"q=ROW-1", 100, 1, 1, "row-100", "", ""},
		{"q=row&page=2", 100, 2, 3, "row-100", "/ui/keys?page=1&q=row", "/ui/keys?page=3&q=row"},
		{"q=nope", 0, 1, 1, "", "", ""},
	} {
		r := httptest.NewRequest("GET", "/ui/keys?"+c.query, nil)
		got, p := paginate(r, rows, func(s string) []string { return []string{s} })
		first := ""
		if len(got) > 0 {
			first = got[0]
		}
		if len(got) != c.n || p.Page != c.page || p.Pages != c.pages || first != c.first || p.Prev != c.prev || p.Next != c.next {
			t.Errorf("%q: %d rows from %q, page %d/%d, prev %q next %q", c.query, len(got), first, p.Page, p.Pages, p.Prev, p.Next)
		}
	}
}
