package ui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/controlplane/admin"
	"github.com/mcpgw/mcpgw/controlplane/store"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

const (
	master  = "sk-ui-master-0123456789"
	userKey = "sk-ui-user-key-0123456789"
	xss     = `<img src=x onerror=alert(1)><script>alert(2)</script>`
)

const fileConfig = `
general_settings:
  master_key: sk-ui-master-0123456789
mcp_servers:
  wiki:
    url: https://wiki.example/mcp
    access_groups: [docs]
    static_headers: {X-Secret: filesecret-XYZ}
`

type fakeKeys struct{}

func (fakeKeys) CheckKey(_ context.Context, key string) (admin.Caller, bool) {
	return admin.Caller{Alias: "ci"}, key == userKey
}

// fakeTools lists one tool of wiki whose description and schema are an
// XSS payload, as a hostile upstream would send them.
type fakeTools struct{}

func (fakeTools) ListTools(context.Context, admin.Caller) ([]json.RawMessage, error) {
	b, _ := json.Marshal(map[string]any{"name": "wiki-search", "description": xss,
		"inputSchema": map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"description": xss}}}})
	return []json.RawMessage{b}, nil
}

type env struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the UI's options changed by opt.
func newEnvWith(t *testing.T, opt func(*Options)) *env {
	t.Helper()
	return newEnvFrom(t, fileConfig, opt)
}

// newEnvFrom is newEnvWith with the config file src.
func newEnvFrom(t *testing.T, src string, opt func(*Options)) *env {
	t.Helper()
	cfg, err := configfile.Parse([]byte(src), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "ui.db"), store.Options{EncryptionKey: "k-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conf := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api, err := admin.New(admin.Options{Config: conf, Store: st, Keys: fakeKeys{}, Tools: fakeTools{}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{API: api, Config: conf, Logger: log}
	if opt != nil {
		opt(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar := &jar{cookies: map[string]*http.Cookie{}}
	return &env{t: t, srv: srv, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// jar keeps cookies by name (enough for one host).
type jar struct{ cookies map[string]*http.Cookie }

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
		} else {
			j.cookies[c.Name] = c
		}
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

func (e *env) do(method, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// login signs in with key and returns the signed-in session's CSRF token.
func (e *env) login(key string) (*http.Response, string) {
	e.t.Helper()
	_, page := e.do("GET", "/ui/login", nil)
	return e.do("POST", "/ui/login", url.Values{"csrf": {csrfOf(e.t, page)}, "key": {key}})
}

func (e *env) signedIn() string {
	e.t.Helper()
	resp, _ := e.login(master)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/servers" {
		e.t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := e.do("GET", "/ui/servers", nil)
	return csrfOf(e.t, page)
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/ui/login", "/ui/servers", "/ui/static/ui.js", "/ui/nope"} {
		resp, _ := e.do("GET", path, nil)
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	// Pages need a session.
	if resp, _ := e.do("GET", "/ui/servers", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
		t.Fatalf("servers without a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range []struct {
		key  string
		want int
	}{{"", http.StatusBadRequest}, {"sk-wrong", http.StatusUnauthorized}, {userKey, http.StatusForbidden}} {
		resp, page := e.login(c.key)
		if resp.StatusCode != c.want {
			t.Errorf("login with %q: %d, want %d", c.key, resp.StatusCode, c.want)
		}
		if c.key != "" && strings.Contains(page, c.key) {
			t.Errorf("the login page echoes the key")
		}
	}
	// No CSRF token: refused before the key is looked at.
	if resp, _ := e.do("POST", "/ui/login", url.Values{"key": {master}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without a CSRF token: %d, want 403", resp.StatusCode)
	}
	_, page := e.do("GET", "/ui/login", nil)
	anon := e.c.Jar.(*jar).cookies[SessionCookie].Value
	resp, _ := e.do("POST", "/ui/login", url.Values{"csrf": {csrfOf(t, page)}, "key": {master}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	var c *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == SessionCookie {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Value == anon || strings.Contains(c.Value, master) {
		t.Fatalf("session cookie %+v (the anonymous one was %q)", c, anon)
	}
	_, page = e.do("GET", "/ui/servers", nil)
	if !strings.Contains(page, "wiki") || strings.Contains(page, master) || strings.Contains(page, "filesecret-XYZ") {
		t.Errorf("servers page: wiki missing, or a secret shown:\n%s", page)
	}
	// Logout ends the session.
	if resp, _ := e.do("POST", "/ui/logout", url.Values{"csrf": {csrfOf(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	e.c.Jar.SetCookies(nil, []*http.Cookie{c}) // the old cookie, replayed
	if resp, _ := e.do("GET", "/ui/servers", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a logged-out session still works: %d", resp.StatusCode)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/login", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := e.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("cookies over https: %+v", cs)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	for _, path := range []string{"/ui/server", "/ui/server/delete", "/ui/tools", "/ui/keys", "/ui/keys/block", "/ui/keys/delete", "/ui/teams", "/ui/teams/delete", "/ui/logout"} {
		for _, token := range []string{"", "x" + csrf} {
			if resp, _ := e.do("POST", path, url.Values{"csrf": {token}, "key_alias": {"evil"}}); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with token %.4q: %d, want 403", path, token, resp.StatusCode)
			}
		}
	}
	_, page := e.do("GET", "/ui/keys", nil)
	if strings.Contains(page, "evil") {
		t.Error("a POST without the CSRF token created a key")
	}
}

func TestToolsAreEscaped(t *testing.T) {
	e := newEnv(t)
	e.signedIn()
	_, page := e.do("GET", "/ui/tools?server=wiki", nil)
	if !strings.Contains(page, "search") {
		t.Fatalf("tools page lacks the tool:\n%s", page)
	}
	if strings.Contains(page, "<img src=x") || strings.Contains(page, "<script>alert") {
		t.Errorf("an upstream's description is rendered as HTML:\n%s", page)
	}
	if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the description is not shown as text")
	}
	// Config-file servers are read-only.
	if !strings.Contains(page, "read-only") || !strings.Contains(page, "<fieldset disabled>") {
		t.Errorf("a config-file server's tools are editable")
	}
}

func TestServerKeyTeamJourney(t *testing.T) {
	e := newEnv(t)
	csrf := e.signedIn()
	// The validator's problems land on their fields.
	resp, page := e.do("POST", "/ui/server", url.Values{"csrf": {csrf}, "transport": {"http"}, "server_name": {"bad"}, "url": {"https://user:pw@example.com/mcp"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="url-error"`) {
		t.Fatalf("a URL with credentials: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, "user:pw") && !strings.Contains(page, `value="https://user:pw@example.com/mcp"`) {
		t.Errorf("the URL is echoed outside its field")
	}
	resp, _ = e.do("POST", "/ui/server", url.Values{"csrf": {csrf}, "transport": {"http"}, "server_name": {"weather"},
		"url": {"https://weather.example/mcp"}, "auth_type": {"bearer_token"}, "auth_value": {"tok-SECRET-1"},
		"access_groups": {"forecasts, ops"}, "static_headers": {"X-Team: hdr-SECRET-2"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add server: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/servers", nil)
	if !strings.Contains(page, "Server weather added.") || !strings.Contains(page, "forecasts, ops") {
		t.Errorf("servers page after adding:\n%s", page)
	}
	id := regexp.MustCompile(`/ui/server\?id=([0-9a-f-]{36})`).FindStringSubmatch(page)
	if id == nil {
		t.Fatalf("no edit link for weather:\n%s", page)
	}
	_, form := e.do("GET", "/ui/server?id="+id[1], nil)
	for _, secret := range []string{"tok-SECRET-1", "hdr-SECRET-2"} {
		if strings.Contains(form, secret) {
			t.Errorf("the edit form shows the secret %q", secret)
		}
	}
	// Edit: drop the static header, keep the credentials.
	resp, _ = e.do("POST", "/ui/server", url.Values{"csrf": {csrf}, "server_id": {id[1]}, "transport": {"http"}, "server_name": {"weather"},
		"url": {"https://weather.example/mcp"}, "auth_type": {"bearer_token"}, "access_groups": {"forecasts"},
		"old_static_headers": {"X-Team"}, "disallowed_tools": {"alerts"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit server: %d", resp.StatusCode)
	}
	_, form = e.do("GET", "/ui/server?id="+id[1], nil)
	if strings.Contains(form, "X-Team") || !strings.Contains(form, `value="alerts"`) {
		t.Errorf("after the edit:\n%s", form)
	}

	// A key bound to the group, shown once.
	resp, page = e.do("POST", "/ui/keys", url.Values{"csrf": {csrf}, "key_alias": {"forecaster"}, "groups": {"forecasts"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create key: %d\n%s", resp.StatusCode, page)
	}
	key := regexp.MustCompile(`id="new-key" readonly value="(sk-[^"]+)"`).FindStringSubmatch(page)
	if key == nil {
		t.Fatalf("the new key is not shown:\n%s", page)
	}
	_, page = e.do("GET", "/ui/keys", nil)
	if strings.Contains(page, key[1]) || !strings.Contains(page, "forecaster") {
		t.Errorf("the key list shows the key again, or lacks it")
	}
	token := regexp.MustCompile(`name="token" value="([0-9a-f]{64})"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatal("no token in the key list")
	}
	if resp, _ := e.do("POST", "/ui/keys/block", url.Values{"csrf": {csrf}, "token": {token[1]}, "blocked": {"true"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("block: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/keys", nil)
	if !strings.Contains(page, "blocked") || !strings.Contains(page, "Unblock") {
		t.Errorf("the key is not shown blocked")
	}
	if resp, _ := e.do("POST", "/ui/keys/delete", url.Values{"csrf": {csrf}, "token": {token[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete key: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/keys", nil)
	if strings.Contains(page, "forecaster") {
		t.Errorf("a deleted key is listed")
	}

	// Teams.
	if resp, _ := e.do("POST", "/ui/teams", url.Values{"csrf": {csrf}, "team_alias": {"platform"}, "groups": {"forecasts"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("create team: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/teams", nil)
	tid := regexp.MustCompile(`name="team_id" value="([^"]+)"`).FindStringSubmatch(page)
	if !strings.Contains(page, "platform") || tid == nil {
		t.Fatalf("teams page:\n%s", page)
	}
	if resp, _ := e.do("POST", "/ui/teams/delete", url.Values{"csrf": {csrf}, "team_id": {tid[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete team: %d", resp.StatusCode)
	}

	// Delete the server.
	if resp, _ := e.do("POST", "/ui/server/delete", url.Values{"csrf": {csrf}, "server_id": {id[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete server: %d", resp.StatusCode)
	}
	_, page = e.do("GET", "/ui/servers", nil)
	if strings.Contains(page, "weather.example") {
		t.Errorf("a deleted server is listed")
	}
}

// Envoy routes exactly wellknown.UIPaths here: each is served, and
// nothing else is.
func TestPaths(t *testing.T) {
	e := newEnv(t)
	e.signedIn()
	for _, path := range wellknown.UIPaths {
		resp, _ := e.do("GET", path, nil)
		if resp.StatusCode == http.StatusNotFound {
			resp, _ = e.do("POST", path, url.Values{})
		}
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s is in wellknown.UIPaths but not served", path)
		}
	}
	for _, path := range []string{"/ui/x", "/ui/static/", "/ui/static/nope.js", "/ui/mcp"} {
		if resp, _ := e.do("GET", path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestSessionsExpireAndAreBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newSessions(2, func() time.Time { return now })
	a := s.create("k", time.Minute)
	if s.get(a.id) == nil {
		t.Fatal("a live session is missing")
	}
	now = now.Add(time.Minute)
	if s.get(a.id) != nil {
		t.Error("an expired session is served")
	}
	b, c, d := s.create("", time.Minute), s.create("", 2*time.Minute), s.create("", 3*time.Minute)
	if s.get(b.id) != nil || s.get(c.id) == nil || s.get(d.id) == nil || len(s.byID) != 2 {
		t.Errorf("a full table must evict the session closest to expiry: %d sessions", len(s.byID))
	}
}

func TestFieldOf(t *testing.T) {
	for pointer, want := range map[string]string{
		"/url": "url", "/credentials/auth_value": "auth_value", "/mcp_access_groups/0": "access_groups",
		"/args/2": "args", "/static_headers/X-A": "static_headers", "/nope": "", "": "",
	} {
		if got := fieldOf(pointer); got != want {
			t.Errorf("fieldOf(%q) = %q, want %q", pointer, got, want)
		}
	}
}

func TestServerBody(t *testing.T) {
	form := url.Values{"transport": {"stdio"}, "server_name": {"mem"}, "command": {"npx"}, "args": {"-y\n@mcp/server-memory\n"},
		"env": {"A=1\nB=" + mask}, "old_env": {"B\nC"}, "auth_type": {"none"}}
	body, errs := serverBody(form, true)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	got, _ := json.Marshal(body)
	for _, want := range []string{`"transport":"stdio"`, `"args":["-y","@mcp/server-memory"]`, `"url":null`, `"auth_type":null`,
		`"env":{"A":"1","B":"********","C":null}`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("body %s lacks %s", got, want)
		}
	}
	if _, ok := body["credentials"]; ok {
		t.Error("credentials sent though none were typed")
	}
	if _, errs := serverBody(url.Values{"transport": {"http"}, "static_headers": {"no separator"}}, false); errs["static_headers"] == "" {
		t.Error("a static header line without ':' is accepted")
	}
}
