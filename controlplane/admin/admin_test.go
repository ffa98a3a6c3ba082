package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
)

const (
	master  = "sk-master-1234"
	userKey = "sk-ci-user-key"
)

const fileConfig = `
general_settings:
  master_key: sk-master-1234
mcp_servers:
  wiki:
    url: https://wiki.example/mcp
    access_groups: [docs]
    static_headers: {X-Secret: filesecret-XYZ}
access:
  keys:
    - key_alias: ci
      key: sk-ci-user-key
      team_id: platform
  teams:
    - team_id: platform
      team_alias: Platform
  organizations:
    - organization_id: acme
`

// secrets are values that must never appear in an answer to a GET or in
// a log line.
var secrets = []string{"filesecret-XYZ", "s3cr3t-auth-value", "oauth-client-secret-1", "hdr-secret-2", "sk-ci-user-key", master}

type fakeKeys map[string]Caller

func (f fakeKeys) CheckKey(_ context.Context, key string) (Caller, bool) {
	c, ok := f[key]
	return c, ok
}

type env struct {
	t     *testing.T
	h     http.Handler
	store *memStore
	logs  *bytes.Buffer
	mu    sync.Mutex
	gets  []string // bodies of GET answers
}

func newEnv(t *testing.T, mutate func(*Options)) *env {
	t.Helper()
	cfg, err := configfile.Parse([]byte(fileConfig), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: newMemStore(), logs: &bytes.Buffer{}}
	opts := Options{
		Config: func() *config.Config { return cfg },
		Store:  e.store,
		Keys:   fakeKeys{userKey: {Alias: "ci"}},
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs, mu: &e.mu}, nil)),
	}
	if mutate != nil {
		mutate(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		all := e.logs.String() + strings.Join(e.gets, "\n")
		for _, s := range secrets {
			if strings.Contains(all, s) {
				t.Errorf("a secret (%.6s...) appears in a GET answer or a log line", s)
			}
		}
	})
	return e
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// do sends a request with the master key and returns the status and the
// decoded answer.
func (e *env) do(method, path, body string) (int, any, http.Header) {
	return e.doKey(master, method, path, body, nil)
}

func (e *env) doKey(key, method, path, body string, hdr map[string]string) (int, any, http.Header) {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if method == http.MethodGet {
		e.mu.Lock()
		e.gets = append(e.gets, rec.Body.String())
		e.mu.Unlock()
	}
	var v any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %q", method, path, rec.Body.String())
		}
	}
	return rec.Code, v, rec.Header()
}

func field(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func errMsg(v any) string { s, _ := field(v, "error", "message").(string); return s }

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, key, header string
		want              int
	}{
		{"no key", "", "", http.StatusUnauthorized},
		{"wrong key", "sk-nope", "", http.StatusUnauthorized},
		{"regular key on an admin route", userKey, "", http.StatusForbidden},
		{"master in Authorization", master, "", http.StatusOK},
		{"master in the key header", "", master, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.header != "" {
				hdr["x-litellm-api-key"] = tt.header
			}
			code, body, _ := e.doKey(tt.key, "GET", "/v1/mcp/server", "", hdr)
			if code != tt.want {
				t.Fatalf("status %d, want %d: %v", code, tt.want, body)
			}
			if code >= 400 && field(body, "error", "code") != fmt.Sprint(code) {
				t.Errorf("error body %v lacks LiteLLM's shape", body)
			}
		})
	}
	// Routes any valid key may call.
	if code, body, _ := e.doKey(userKey, "GET", "/v1/mcp/access_groups", "", nil); code != 200 || fmt.Sprint(field(body, "access_groups")) != "[docs]" {
		t.Errorf("access_groups: %d %v", code, body)
	}
	if code, _, _ := e.doKey(userKey, "GET", "/v1/mcp/tools", "", nil); code != http.StatusNotImplemented {
		t.Errorf("tools without a lister: %d", code)
	}
}

// LiteLLM's documented request bodies, sent as they are.
var (
	docServerBody = `{"server_name": "zapier_mcp", "alias": "zapier", "description": "Zapier MCP", "url": "https://mcp.zapier.com/api/mcp/s/x/mcp", "transport": "http", "auth_type": "bearer_token", "credentials": {"auth_value": "s3cr3t-auth-value"}, "mcp_access_groups": ["dev_group"], "mcp_info": {"server_name": "Zapier", "description": "tools"}}`
	docKeyBodies  = []string{
		`{"models": ["gpt-3.5-turbo", "gpt-4"], "metadata": {"user": "ishaan@berri.ai"}}`,
		`{"key_alias": "my-mcp-key", "duration": "20m", "object_permission": {"mcp_servers": ["zapier_mcp"], "mcp_access_groups": ["dev_group"]}}`,
		`{"team_id": "platform", "object_permission": {"mcp_tool_permissions": {"zapier_mcp": ["send_email"]}}}`,
	}
	docTeamBody = `{"team_alias": "my-new-team_4", "members_with_roles": [{"role": "admin", "user_id": "user-1234"}], "object_permission": {"mcp_servers": ["zapier_mcp"]}}`
	docOrgBody  = `{"organization_alias": "my-secret-org", "models": ["model1", "model2"], "max_budget": 100}`
)

func TestServerLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	code, body, hdr := e.do("POST", "/v1/mcp/server", docServerBody)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, body)
	}
	id, _ := field(body, "server_id").(string)
	if id == "" || hdr.Get("ETag") != `"1"` || field(body, "credentials") != nil {
		t.Fatalf("create answer %v, etag %q", body, hdr.Get("ETag"))
	}
	// Stored: the secret apart from the document.
	o, _ := e.store.Get(context.Background(), controlplane.KindServer, id)
	if strings.Contains(string(o.Doc), "s3cr3t") || !strings.Contains(string(o.Secret), "s3cr3t-auth-value") {
		t.Errorf("doc %s secret %s", o.Doc, o.Secret)
	}
	// Listed with the config file's server.
	code, body, _ = e.do("GET", "/v1/mcp/server", "")
	if list, _ := body.([]any); code != 200 || len(list) != 2 || field(list[0], "source") != "config" || field(list[1], "server_name") != "zapier_mcp" {
		t.Fatalf("list: %d %v", code, body)
	}
	if code, body, _ = e.do("GET", "/v1/mcp/server/"+id, ""); code != 200 || field(body, "status") != "unknown" {
		t.Errorf("get: %d %v", code, body)
	}
	if code, _, _ = e.do("GET", "/v1/mcp/server/wiki", ""); code != 200 {
		t.Errorf("get config server: %d", code)
	}
	// A partial update keeps the credentials; a GET answer sent back
	// (credentials null) does too.
	code, body, _ = e.do("PUT", "/v1/mcp/server", `{"server_id": "`+id+`", "description": "new", "static_headers": {"X-Tenant": "hdr-secret-2"}}`)
	if code != http.StatusAccepted || field(body, "description") != "new" || field(body, "static_headers", "X-Tenant") != Mask {
		t.Fatalf("update: %d %v", code, body)
	}
	_, got, _ := e.do("GET", "/v1/mcp/server/"+id, "")
	back, _ := json.Marshal(got)
	if code, body, _ = e.do("PUT", "/v1/mcp/server", string(back)); code != http.StatusAccepted {
		t.Fatalf("round trip: %d %v", code, body)
	}
	o, _ = e.store.Get(context.Background(), controlplane.KindServer, id)
	if !strings.Contains(string(o.Secret), "s3cr3t-auth-value") || !strings.Contains(string(o.Secret), "hdr-secret-2") || o.Version != 3 {
		t.Errorf("after updates: v%d secret kept? %s", o.Version, o.Secret)
	}
	// Health.
	_ = e.store.SetHealth(context.Background(), id, controlplane.Health{Status: "healthy"})
	code, body, _ = e.do("GET", "/v1/mcp/server/health?server_ids="+id+",wiki", "")
	if list, _ := body.([]any); code != 200 || len(list) != 2 || field(list[1], "status") != "healthy" || field(list[0], "status") != "unknown" {
		t.Errorf("health: %d %v", code, body)
	}
	// Delete, twice.
	for range 2 {
		if code, _, _ = e.do("DELETE", "/v1/mcp/server/"+id, ""); code != http.StatusAccepted {
			t.Errorf("delete: %d", code)
		}
	}
	if code, _, _ = e.do("GET", "/v1/mcp/server/"+id, ""); code != http.StatusNotFound {
		t.Errorf("get deleted: %d", code)
	}
	// Audit.
	code, body, _ = e.do("GET", "/audit?table_name=LiteLLM_MCPServerTable", "")
	if logs, _ := field(body, "audit_logs").([]any); code != 200 || len(logs) != 4 || field(logs[0], "action") != "delete" || field(logs[0], "changed_by") != MasterAlias {
		t.Errorf("audit: %d %v", code, body)
	}
}

func TestServerErrors(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxBodyBytes = 4096 })
	if code, body, _ := e.do("POST", "/v1/mcp/server", `{"server_name": "a_b", "url": "https://a.example/mcp", "transport": "http"}`); code != 201 {
		t.Fatalf("setup: %d %v", code, body)
	}
	tests := []struct {
		name, method, body string
		want               int
		msg, pointer       string
	}{
		{"did you mean", "POST", `{"server_name": "x", "urll": "https://x.example/mcp"}`, 400, `unknown key (did you mean "url"?)`, "/urll"},
		{"pointer into credentials", "POST", `{"server_name": "x", "url": "https://x.example/mcp", "auth_type": "api_key", "credentials": {"auth_value": "a\nb"}}`, 400, "must not contain line breaks or control characters", "/credentials/auth_value"},
		{"name clash with config", "POST", `{"server_name": "wiki", "url": "https://x.example/mcp"}`, 409, `server_name "wiki" is already the name, alias or server_id of MCP server "wiki"`, ""},
		{"alias clash", "POST", `{"server_name": "y", "alias": "a_b", "url": "https://x.example/mcp"}`, 409, "alias", ""},
		{"config server is read-only", "PUT", `{"server_id": "wiki", "description": "x"}`, 409, "comes from the config file", ""},
		{"update needs server_id", "PUT", `{"description": "x"}`, 400, "server_id is required", ""},
		{"unknown server", "PUT", `{"server_id": "nope", "description": "x"}`, 404, "MCP Server not found, passed server_id=nope", ""},
		{"too large", "POST", `{"server_name": "x", "description": "` + strings.Repeat("a", 5000) + `"}`, 413, "larger than 4096 bytes", ""},
		{"not JSON", "POST", `{"server_name": `, 400, "invalid JSON", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, _ := e.do(tt.method, "/v1/mcp/server", tt.body)
			if code != tt.want || !strings.Contains(errMsg(body), tt.msg) {
				t.Fatalf("%d %v, want %d %q", code, body, tt.want, tt.msg)
			}
			if tt.pointer != "" {
				ps, _ := field(body, "error", "problems").([]any)
				if len(ps) == 0 || field(ps[0], "pointer") != tt.pointer {
					t.Errorf("problems %v, want pointer %s", ps, tt.pointer)
				}
			}
		})
	}
	if code, _, _ := e.do("DELETE", "/v1/mcp/server/wiki", ""); code != 409 {
		t.Errorf("delete config server: %d", code)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t, nil)
	if code, body, _ := e.do("POST", "/v1/mcp/server", docServerBody); code != 201 {
		t.Fatalf("setup: %d %v", code, body)
	}
	var keys []string
	for _, b := range docKeyBodies {
		code, body, _ := e.do("POST", "/key/generate", b)
		key, _ := field(body, "key").(string)
		if code != 200 || !strings.HasPrefix(key, "sk-") || len(key) < 3+43 {
			t.Fatalf("generate %s: %d %v", b, code, body)
		}
		keys = append(keys, key)
		secrets = append(secrets, key)
		token := field(body, "token").(string)
		o, err := e.store.Get(context.Background(), controlplane.KindKey, token)
		if err != nil || strings.Contains(string(o.Doc), key) || o.Secret != nil {
			t.Fatalf("stored key %v %s", err, o.Doc)
		}
	}
	// Info by key and by token; the key is not in the answer.
	code, body, _ := e.do("GET", "/key/info?key="+keys[1], "")
	token, _ := field(body, "info", "token").(string)
	if code != 200 || field(body, "info", "key_alias") != "my-mcp-key" || field(body, "info", "expires") == nil {
		t.Fatalf("info: %d %v", code, body)
	}
	if code, body, _ = e.do("GET", "/key/info?key="+token, ""); code != 200 || field(body, "info", "token") != token {
		t.Errorf("info by token: %d %v", code, body)
	}
	// A key reads its own info only.
	if code, _, _ = e.doKey(userKey, "GET", "/key/info", "", nil); code != 200 {
		t.Errorf("own info: %d", code)
	}
	if code, _, _ = e.doKey(userKey, "GET", "/key/info?key="+token, "", nil); code != 403 {
		t.Errorf("other's info: %d", code)
	}
	// List: config key plus three.
	code, body, _ = e.do("GET", "/key/list?size=2", "")
	if code != 200 || field(body, "total_count") != 4.0 || field(body, "total_pages") != 2.0 {
		t.Errorf("list: %d %v", code, body)
	}
	// Update, alias clash, config key, unknown team.
	if code, body, _ = e.do("POST", "/key/update", `{"key": "`+keys[1]+`", "blocked": true}`); code != 200 || field(body, "blocked") != true || field(body, "key_alias") != "my-mcp-key" {
		t.Errorf("update: %d %v", code, body)
	}
	for _, tt := range []struct {
		body string
		want int
		msg  string
	}{
		{`{"key": "` + keys[1] + `", "key_alias": "ci"}`, 409, `key_alias "ci" is already used by a key of the config file`},
		{`{"key": "` + userKey + `", "blocked": true}`, 409, "comes from the config file"},
		{`{"key": "` + keys[1] + `", "team_id": "nope"}`, 400, `no access.teams entry has team_id "nope"`},
		{`{"key": "sk-unknown", "blocked": true}`, 404, "key not found"},
	} {
		if code, body, _ := e.do("POST", "/key/update", tt.body); code != tt.want || !strings.Contains(errMsg(body), tt.msg) {
			t.Errorf("%s: %d %v", tt.body, code, body)
		}
	}
	if code, body, _ = e.do("POST", "/key/generate", `{"key_alias": "ci"}`); code != 409 {
		t.Errorf("duplicate alias: %d %v", code, body)
	}
	// Delete by key and alias.
	code, body, _ = e.do("POST", "/key/delete", `{"keys": ["`+keys[0]+`"], "key_aliases": ["my-mcp-key"]}`)
	if code != 200 || len(field(body, "deleted_keys").([]any)) != 2 {
		t.Errorf("delete: %d %v", code, body)
	}
	if l, _ := e.store.List(context.Background(), controlplane.KindKey); len(l) != 1 {
		t.Errorf("%d keys left", len(l))
	}
	if code, _, _ = e.do("POST", "/key/delete", `{"key_aliases": ["ci"]}`); code != 409 {
		t.Errorf("delete config key: %d", code)
	}
}

func TestTeamsAndOrganizations(t *testing.T) {
	e := newEnv(t, nil)
	if code, body, _ := e.do("POST", "/v1/mcp/server", docServerBody); code != 201 {
		t.Fatalf("setup: %d %v", code, body)
	}
	code, body, _ := e.do("POST", "/organization/new", docOrgBody)
	org, _ := field(body, "organization_id").(string)
	if code != 200 || org == "" || field(body, "organization_alias") != "my-secret-org" {
		t.Fatalf("org new: %d %v", code, body)
	}
	code, body, _ = e.do("POST", "/team/new", docTeamBody)
	team, _ := field(body, "team_id").(string)
	if code != 200 || team == "" {
		t.Fatalf("team new: %d %v", code, body)
	}
	if code, body, _ = e.do("POST", "/team/update", `{"team_id": "`+team+`", "organization_id": "`+org+`", "max_budget": 10}`); code != 200 || field(body, "data", "organization_id") != org {
		t.Errorf("team update: %d %v", code, body)
	}
	if code, body, _ = e.do("POST", "/team/update", `{"team_id": "`+team+`", "organization_id": "nope"}`); code != 400 || !strings.Contains(errMsg(body), "no access.organizations entry") {
		t.Errorf("team bad org: %d %v", code, body)
	}
	if code, body, _ = e.do("POST", "/team/new", `{"team_alias": "Platform"}`); code != 409 {
		t.Errorf("team alias clash: %d %v", code, body)
	}
	if code, body, _ = e.do("POST", "/team/update", `{"team_id": "platform", "blocked": true}`); code != 409 {
		t.Errorf("config team: %d %v", code, body)
	}
	if code, body, _ = e.do("GET", "/team/info?team_id=platform", ""); code != 200 || len(field(body, "keys").([]any)) != 1 {
		t.Errorf("team info: %d %v", code, body)
	}
	if code, body, _ = e.do("GET", "/team/list", ""); code != 200 || len(body.([]any)) != 2 {
		t.Errorf("team list: %d %v", code, body)
	}
	if code, body, _ = e.do("PATCH", "/organization/update", `{"organization_id": "`+org+`", "object_permission": {"mcp_access_groups": ["dev_group"]}}`); code != 200 || field(body, "object_permission", "mcp_access_groups") == nil {
		t.Errorf("org update: %d %v", code, body)
	}
	if code, body, _ = e.do("GET", "/organization/info?organization_id="+org, ""); code != 200 || field(body, "version") != 2.0 {
		t.Errorf("org info: %d %v", code, body)
	}
	if code, body, _ = e.do("GET", "/organization/list", ""); code != 200 || len(body.([]any)) != 2 {
		t.Errorf("org list: %d %v", code, body)
	}
	if code, body, _ = e.do("POST", "/team/delete", `{"team_ids": ["`+team+`"]}`); code != 200 {
		t.Errorf("team delete: %d %v", code, body)
	}
	if code, body, _ = e.do("DELETE", "/organization/delete", `{"organization_ids": ["`+org+`"]}`); code != 200 {
		t.Errorf("org delete: %d %v", code, body)
	}
	if code, _, _ = e.do("DELETE", "/organization/delete", `{"organization_ids": ["acme"]}`); code != 409 {
		t.Errorf("config org delete: %d", code)
	}
}

// TestConcurrentPartialUpdates: two writers updating different fields of
// one object at once both win (read-merge-write retried on ErrStale).
func TestConcurrentPartialUpdates(t *testing.T) {
	e := newEnv(t, nil)
	code, body, _ := e.do("POST", "/team/new", `{"team_id": "t1"}`)
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body, _ := e.do("POST", "/team/update", fmt.Sprintf(`{"team_id": "t1", "metadata": {"f%d": %d}}`, i, i)); code != 200 {
				t.Errorf("%d %v", code, body)
			}
		}()
	}
	wg.Wait()
	o, _ := e.store.Get(context.Background(), controlplane.KindTeam, "t1")
	for i := range 20 {
		if !strings.Contains(string(o.Doc), fmt.Sprintf(`"f%d":%d`, i, i)) {
			t.Errorf("field f%d lost: %s", i, o.Doc)
		}
	}
	if o.Version != 21 {
		t.Errorf("version %d", o.Version)
	}
	// An explicit expected version must match.
	hdr := map[string]string{"If-Match": `"3"`}
	if code, body, _ := e.doKey(master, "POST", "/team/update", `{"team_id": "t1", "blocked": true}`, hdr); code != 409 || !strings.Contains(errMsg(body), "version mismatch") {
		t.Errorf("stale If-Match: %d %v", code, body)
	}
	hdr["If-Match"] = `"21"`
	if code, body, h := e.doKey(master, "POST", "/team/update", `{"team_id": "t1", "blocked": true}`, hdr); code != 200 || h.Get("ETag") != `"22"` {
		t.Errorf("matching If-Match: %d %v", code, body)
	}
}

func TestWithoutStore(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Store = nil })
	if code, body, _ := e.do("GET", "/v1/mcp/server", ""); code != 200 || len(body.([]any)) != 1 {
		t.Errorf("list: %d %v", code, body)
	}
	if code, body, _ := e.do("GET", "/key/list", ""); code != 200 || field(body, "total_count") != 1.0 {
		t.Errorf("key list: %d %v", code, body)
	}
	if code, body, _ := e.do("POST", "/v1/mcp/server", docServerBody); code != 500 || !strings.Contains(errMsg(body), "store_model_in_db is off") {
		t.Errorf("create: %d %v", code, body)
	}
}

func TestSupportedKinds(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Kinds = []controlplane.Kind{controlplane.KindServer} })
	if code, body, _ := e.do("POST", "/team/new", `{"team_id": "x"}`); code != 400 || !strings.Contains(errMsg(body), "supported_db_objects") {
		t.Errorf("team: %d %v", code, body)
	}
	if code, _, _ := e.do("POST", "/v1/mcp/server", docServerBody); code != 201 {
		t.Errorf("server: %d", code)
	}
}

func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	e.store.failAll = fmt.Errorf("dial: %w", controlplane.ErrUnavailable)
	code, body, _ := e.do("GET", "/v1/mcp/server", "")
	if code != 503 || !strings.Contains(errMsg(body), "store (database) is unavailable") {
		t.Errorf("%d %v", code, body)
	}
}

// Every write answers 503 naming the store when the database is down,
// and when it goes away between the read and the write of an update
// (read-merge-write): never 500. The store's own words (which never hold
// a password) say which database and why.
func TestStoreUnavailableEveryWrite(t *testing.T) {
	down := fmt.Errorf("%w: postgres db.internal:5432: connection refused", controlplane.ErrUnavailable)
	for _, mode := range []string{"store down", "writes fail"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, nil)
			code, body, _ := e.do("POST", "/v1/mcp/server", docServerBody)
			if code != 201 {
				t.Fatalf("create: %d %v", code, body)
			}
			serverID, _ := field(body, "server_id").(string)
			code, body, _ = e.do("POST", "/key/generate", `{"key_alias": "k"}`)
			if code != 200 {
				t.Fatalf("key: %d %v", code, body)
			}
			key, _ := field(body, "key").(string)
			for _, p := range [][2]string{{"/team/new", `{"team_id": "t1"}`}, {"/organization/new", `{"organization_id": "o1"}`}} {
				if code, body, _ := e.do("POST", p[0], p[1]); code != 200 {
					t.Fatalf("%s: %d %v", p[0], code, body)
				}
			}
			if mode == "store down" {
				e.store.failAll = down
			} else {
				e.store.failWrites = down
			}
			for _, w := range []struct{ method, path, body string }{
				{"POST", "/v1/mcp/server", `{"server_name": "other", "url": "https://o.example/mcp", "transport": "http"}`},
				{"PUT", "/v1/mcp/server", `{"server_id": "` + serverID + `", "description": "new"}`},
				{"DELETE", "/v1/mcp/server/" + serverID, ""},
				{"POST", "/key/generate", `{"key_alias": "k2"}`},
				{"POST", "/key/update", `{"key": "` + key + `", "blocked": true}`},
				{"POST", "/key/delete", `{"keys": ["` + key + `"]}`},
				{"POST", "/key/delete", `{"key_aliases": ["k"]}`},
				{"POST", "/team/new", `{"team_alias": "t2"}`},
				{"POST", "/team/update", `{"team_id": "t1", "blocked": true}`},
				{"POST", "/team/delete", `{"team_ids": ["t1"]}`},
				{"POST", "/organization/new", `{"organization_alias": "o2"}`},
				{"PATCH", "/organization/update", `{"organization_id": "o1", "organization_alias": "o3"}`},
				{"DELETE", "/organization/delete", `{"organization_ids": ["o1"]}`},
			} {
				code, body, _ := e.do(w.method, w.path, w.body)
				msg := errMsg(body)
				if code != 503 || !strings.Contains(msg, "store (database) is unavailable") || !strings.Contains(msg, "postgres db.internal:5432: connection refused") {
					t.Errorf("%s %s: %d %v; want 503 naming the store", w.method, w.path, code, body)
				}
			}
		})
	}
}

type fakeTools struct{}

func (fakeTools) ListTools(_ context.Context, c Caller) ([]json.RawMessage, error) {
	return []json.RawMessage{json.RawMessage(`{"name":"` + c.Alias + `-tool"}`)}, nil
}

func TestTools(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Tools = fakeTools{} })
	code, body, _ := e.doKey(userKey, "GET", "/v1/mcp/tools", "", nil)
	if tools, _ := field(body, "tools").([]any); code != 200 || len(tools) != 1 || field(tools[0], "name") != "ci-tool" {
		t.Errorf("%d %v", code, body)
	}
}

func TestUnknownRoute(t *testing.T) {
	e := newEnv(t, nil)
	if code, body, _ := e.do("GET", "/v1/mcp/nope", ""); code != 404 || field(body, "error", "type") != "not_found_error" {
		t.Errorf("%d %v", code, body)
	}
}
