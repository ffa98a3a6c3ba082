package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// testConfig: wiki has allowed_params, github hides delete_repo, public is
// open to every key; keys cover a key list, access groups, a team list, an
// organization ceiling and tool permissions.
const testConfig = `
general_settings:
  master_key: sk-master
mcp_servers:
  wiki:
    url: https://wiki.example/mcp
    access_groups: [docs]
    allowed_params:
      read_wiki_contents: [status]
      wiki-search: [q, limit]
  github:
    url: https://gh.example/mcp
    disallowed_tools: [delete_repo]
    access_groups: [dev]
  jira:
    url: https://jira.example/mcp
    access_groups: [dev]
  public:
    url: https://public.example/mcp
    allow_all_keys: true
access:
  keys:
    - {key_alias: full, key: sk-full, object_permission: {mcp_servers: [wiki, github, jira]}}
    - {key_alias: docs, key: sk-docs, object_permission: {mcp_access_groups: [docs]}}
    - {key_alias: teamed, key: sk-teamed, team_id: platform, object_permission: {mcp_servers: [github, jira]}}
    - {key_alias: orged, key: sk-orged, team_id: acme-devs}
    - {key_alias: tools, key: sk-tools, object_permission: {mcp_servers: [github], mcp_tool_permissions: {github: [list_issues]}}}
    - {key_alias: bare, key: sk-bare}
    - {key_alias: revoked, key: sk-revoked, blocked: true, object_permission: {mcp_servers: [wiki]}}
    - {key_alias: expired, key: sk-expired, expires: 2020-01-01, object_permission: {mcp_servers: [wiki]}}
    - {key_alias: frozen, key: sk-frozen, team_id: frozen}
  teams:
    - {team_id: platform, object_permission: {mcp_servers: [github]}}
    - {team_id: acme-devs, organization_id: acme, object_permission: {mcp_access_groups: [dev, docs]}}
    - {team_id: frozen, blocked: true}
  organizations:
    - {organization_id: acme, object_permission: {mcp_servers: [github, public]}}
`

func parseConfig(t testing.TB, src string) *config.Config {
	t.Helper()
	cfg, err := configfile.Parse([]byte(src), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newEngine(t testing.TB, src string, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), parseConfig(t, src), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func keyHeader(key string) func(string) string {
	return func(name string) string {
		if name == "x-litellm-api-key" {
			return key
		}
		return ""
	}
}

func principal(t *testing.T, e *Engine, key string) *identity.Principal {
	t.Helper()
	p, err := e.Authenticate(keyHeader(key))
	if err != nil {
		t.Fatalf("authenticate %s: %v", key, err)
	}
	return p
}

func TestAuthenticate(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	if !e.AuthRequired() || e.KeyHeader() != "x-litellm-api-key" {
		t.Fatalf("AuthRequired %v, KeyHeader %q", e.AuthRequired(), e.KeyHeader())
	}
	for key, want := range map[string]string{
		"sk-full": "", "Bearer sk-master": "", "sk-orged": "",
		"": identity.ReasonMissing, "sk-nope": identity.ReasonUnknown,
		"sk-revoked": identity.ReasonBlocked, "sk-frozen": identity.ReasonBlocked, "sk-expired": identity.ReasonExpired,
	} {
		p, err := e.Authenticate(keyHeader(key))
		var ae *identity.AuthError
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", key, err)
		case want != "" && (!errors.As(err, &ae) || ae.Reason != want):
			t.Errorf("%q: got %v %v, want %s", key, p, err, want)
		}
	}
	if p := principal(t, e, "sk-orged"); p.Team != "acme-devs" || p.Org != "acme" {
		t.Errorf("orged = %+v", p)
	}
	open := newEngine(t, "mcp_servers:\n  a:\n    url: https://a.example/mcp\n", Options{})
	if p, err := open.Authenticate(nil); err != nil || !p.Anonymous || open.AuthRequired() {
		t.Errorf("a gateway without keys is open: %+v %v", p, err)
	}
}

func TestDecide(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	type q struct {
		key, server, tool string
		allow, hidden     bool
	}
	tests := []q{
		{"sk-master", "jira", "anything", true, false},
		{"sk-master", "github", "delete_repo", false, true}, // server filters bind everyone
		{"sk-full", "wiki", "read_wiki_contents", true, false},
		{"sk-full", "github", "create_issue", true, false},
		{"sk-full", "github", "delete_repo", false, true},
		{"sk-full", "public", "x", true, false}, // allow_all_keys
		{"sk-docs", "wiki", "read_wiki_contents", true, false},
		{"sk-docs", "github", "create_issue", false, true},
		{"sk-teamed", "github", "create_issue", true, false}, // key ∩ team
		{"sk-teamed", "jira", "create_issue", false, true},   // team ceiling
		{"sk-orged", "github", "create_issue", true, false},  // team groups ∩ org
		{"sk-orged", "jira", "create_issue", false, true},    // org ceiling
		{"sk-orged", "wiki", "read_wiki_contents", false, true},
		{"sk-orged", "public", "x", true, false},
		{"sk-tools", "github", "list_issues", true, false},
		{"sk-tools", "github", "create_issue", false, true},
		{"sk-bare", "wiki", "read_wiki_contents", false, true}, // no permissions: nothing
		{"sk-bare", "public", "x", true, false},
	}
	for _, tt := range tests {
		p := principal(t, e, tt.key)
		d := e.Decide(Request{Principal: p, Method: "tools/call", Server: tt.server, Kind: KindTool, Name: tt.tool})
		if d.Allow != tt.allow || d.Hidden != tt.hidden {
			t.Errorf("%s %s/%s: %+v; want allow=%v hidden=%v", tt.key, tt.server, tt.tool, d, tt.allow, tt.hidden)
		}
		// Listing asks the same question.
		list := Request{Principal: p, Method: "tools/list", Server: tt.server, Kind: KindTool, Name: tt.tool}
		if e.Visible(list) != tt.allow {
			t.Errorf("%s %s/%s: visible=%v, callable=%v", tt.key, tt.server, tt.tool, !tt.allow, tt.allow)
		}
		if !d.Allow && d.Message != "Access denied" {
			t.Errorf("%s %s/%s: message %q names more than it may", tt.key, tt.server, tt.tool, d.Message)
		}
	}
}

// LiteLLM's org fallback and require_key_mcp_access_defined, from the
// config through the engine, for calls and lists alike.
func TestOrgFallbackAndRequireKeyAccess(t *testing.T) {
	const servers = `
mcp_servers:
  wiki: {url: "https://wiki.example/mcp"}
  github: {url: "https://gh.example/mcp", access_groups: [dev]}
  jira: {url: "https://jira.example/mcp", access_groups: [dev]}
access:
  keys:
    - {key_alias: loose, key: sk-loose, team_id: open}
    - {key_alias: own, key: sk-own, team_id: open, object_permission: {mcp_servers: [wiki]}}
    - {key_alias: inherits, key: sk-inherits, team_id: listed}
    - {key_alias: narrows, key: sk-narrows, team_id: listed, object_permission: {mcp_servers: [jira, wiki]}}
  teams:
    - {team_id: open, organization_id: acme}
    - {team_id: listed, object_permission: {mcp_access_groups: [dev]}}
  organizations:
    - {organization_id: acme, object_permission: {mcp_servers: [github, jira]}}
`
	for _, tt := range []struct {
		require bool
		key     string
		want    []string // servers usable, of wiki, github, jira
	}{
		{false, "sk-loose", []string{"github", "jira"}}, // neither key nor team sets a list: the org's
		{false, "sk-own", nil},                          // the key's list, under the org ceiling
		{false, "sk-inherits", []string{"github", "jira"}},
		{false, "sk-narrows", []string{"jira"}},
		{true, "sk-loose", []string{"github", "jira"}}, // no team list: the flag changes nothing
		{true, "sk-inherits", nil},                     // the team's list is a ceiling only
		{true, "sk-narrows", []string{"jira"}},
	} {
		src := servers
		if tt.require {
			src = "general_settings:\n  require_key_mcp_access_defined: true\n" + servers
		}
		e := newEngine(t, src, Options{})
		p := principal(t, e, tt.key)
		var got []string
		for _, srv := range []string{"wiki", "github", "jira"} {
			d := e.Decide(Request{Principal: p, Method: "tools/call", Server: srv, Kind: KindTool, Name: "t"})
			if d.Allow != e.Visible(Request{Principal: p, Method: "tools/list", Server: srv, Kind: KindTool, Name: "t"}) {
				t.Errorf("%s %s: callable and visible disagree", tt.key, srv)
			}
			if d.Allow {
				got = append(got, srv)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("require=%v %s: may use %v, want %v", tt.require, tt.key, got, tt.want)
		}
	}
}

func TestAllowedParams(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	p := principal(t, e, "sk-full")
	tests := []struct {
		tool, args string
		msg        string // "" means allowed
	}{
		{"read_wiki_contents", `{"status":"active"}`, ""},
		{"read_wiki_contents", `{}`, ""},
		{"read_wiki_contents", `{"status":"active","limit":10}`,
			"Parameters ['limit'] are not allowed for tool read_wiki_contents. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."},
		{"read_wiki_contents", `{"z":1,"status":"x","a":{"nested":true},"z":2}`,
			"Parameters ['z', 'a'] are not allowed for tool read_wiki_contents. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."},
		{"search", `{"q":"x","page":2}`, // rule written under the prefixed name
			"Parameters ['page'] are not allowed for tool search. Allowed parameters: ['q', 'limit']. Contact proxy admin to allow these parameters."},
		{"other", `{"anything":1}`, ""},
	}
	for _, tt := range tests {
		d := e.Decide(Request{Principal: p, Method: "tools/call", Server: "wiki", Kind: KindTool, Name: tt.tool, Arguments: json.RawMessage(tt.args)})
		if tt.msg == "" {
			if !d.Allow {
				t.Errorf("%s %s: denied: %+v", tt.tool, tt.args, d)
			}
			continue
		}
		if d.Allow || d.Hidden || d.Message != tt.msg {
			t.Errorf("%s %s:\n got %+v\nwant %q", tt.tool, tt.args, d, tt.msg)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const sqlRule = `package mcpgw.custom

import rego.v1

deny contains {"reason": "DROP in sql", "message": "run_query may not drop tables"} if {
	input.tool.name == "run_query"
	regex.match("(?i)\\bdrop\\b", input.arguments.sql)
}
`

func TestCustomPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rules", "sql.rego"), sqlRule)
	writeFile(t, filepath.Join(dir, "rules", "sql_test.rego"), "this is not rego, and is not loaded")
	e := newEngine(t, "mcp_servers:\n  db:\n    url: https://db.example/mcp\naccess:\n  policy_dir: "+dir+"\n", Options{})
	p := Request{Principal: identity.Anonymous(), Method: "tools/call", Server: "db", Kind: KindTool, Name: "run_query"}
	for args, allow := range map[string]bool{`{"sql":"select 1"}`: true, `{"sql":"drop table x"}`: false, `{"sql":"DROP  TABLE x"}`: false} {
		p.Arguments = json.RawMessage(args)
		d := e.Decide(p)
		if d.Allow != allow {
			t.Errorf("%s: %+v", args, d)
		}
		if !allow && (d.Message != "run_query may not drop tables" || d.Hidden || d.Reason != "custom rule: DROP in sql") {
			t.Errorf("%s: %+v", args, d)
		}
	}
	// The rule looks at arguments, so listing (no arguments) shows the tool.
	if !e.Visible(Request{Principal: identity.Anonymous(), Method: "tools/list", Server: "db", Kind: KindTool, Name: "run_query"}) {
		t.Error("run_query hidden from the listing")
	}
}

func TestPolicyErrorsNameFileAndLine(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ok.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"x\" if false\n")
	writeFile(t, filepath.Join(dir, "bad.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"y\" if {\n\tinput.x ==\n}\n")
	_, err := New(context.Background(), parseConfig(t, "access:\n  policy_dir: "+dir+"\n"), Options{})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 || ps[0].File != filepath.Join(dir, "bad.rego") || ps[0].Line != 7 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "bad.rego:7: rego_parse_error") {
		t.Errorf("error = %v", err)
	}
	// Compile errors too, and the network is out of reach.
	writeFile(t, filepath.Join(dir, "bad.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains x if {\n\tx := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1\"})\n}\n")
	_, err = New(context.Background(), parseConfig(t, "access:\n  policy_dir: "+dir+"\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "bad.rego:6:") || !strings.Contains(err.Error(), "http.send") {
		t.Errorf("http.send: %v", err)
	}
	_, err = New(context.Background(), parseConfig(t, "access:\n  policy_dir: "+filepath.Join(dir, "nope")+"\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "access.policy_dir") {
		t.Errorf("missing dir: %v", err)
	}
}

func TestEvaluationErrorsDeny(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "n.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"big\" if to_number(input.arguments.n) > 10\n")
	e := newEngine(t, "mcp_servers:\n  a:\n    url: https://a.example/mcp\naccess:\n  policy_dir: "+dir+"\n", Options{})
	req := Request{Principal: identity.Anonymous(), Method: "tools/call", Server: "a", Kind: KindTool, Name: "t"}
	req.Arguments = json.RawMessage(`{"n":"5"}`)
	if d := e.Decide(req); !d.Allow {
		t.Fatalf("n=5: %+v", d)
	}
	req.Arguments = json.RawMessage(`{"n":"not a number"}`)
	d := e.Decide(req)
	if d.Allow || !strings.HasPrefix(d.Reason, "policy evaluation failed") || strings.Contains(d.Message, "to_number") {
		t.Fatalf("a failing builtin must deny: %+v", d)
	}
	req.Arguments = json.RawMessage(`[1,2]`)
	if d := e.Decide(req); d.Allow || !d.Invalid || !strings.HasPrefix(d.Message, "invalid params: tool arguments are not a JSON object") {
		t.Fatalf("arguments that are not an object: %+v", d)
	}
	if d := e.Decide(Request{Method: "tools/call", Server: "a", Kind: KindTool, Name: "t"}); d.Allow {
		t.Fatal("no principal allowed")
	}
}

// TestManyArgumentsAreCheap: a call with far too many argument names is
// refused as invalid before the policy runs, and a refusal at the limit
// quotes three names and counts the rest. Both cost bounded memory and
// give bounded texts (allocation and size bounds, never wall-clock: the
// 85,000-name call cost 771 MB of allocations and gave a 0.85 MB answer
// before the limits).
func TestManyArgumentsAreCheap(t *testing.T) {
	var log bytes.Buffer
	e := newEngine(t, testConfig, Options{DecisionLog: &log})
	p := principal(t, e, "sk-full")
	ask := func(args []byte) (Decision, uint64) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d := e.Decide(Request{Principal: p, Method: "tools/call", Server: "wiki", Kind: KindTool, Name: "read_wiki_contents", Arguments: args})
		runtime.ReadMemStats(&after)
		return d, after.TotalAlloc - before.TotalAlloc
	}
	d, alloc := ask(argsWith(85000, 6))
	if d.Allow || !d.Invalid || d.Message != fmt.Sprintf("invalid params: tool arguments over the gateway's limits: more than %d argument names", MaxArgumentNames) {
		t.Fatalf("85,000 names: %+v", d)
	}
	if alloc > 1<<20 {
		t.Errorf("85,000 names allocated %d bytes; want under 1 MiB", alloc)
	}
	log.Reset()
	d, alloc = ask(argsWith(MaxArgumentNames, 8))
	want := fmt.Sprintf("Parameters ['p0xxxxxx', 'p1xxxxxx', 'p2xxxxxx'] and %d more are not allowed for tool read_wiki_contents.", MaxArgumentNames-3)
	if d.Allow || d.Invalid || !strings.HasPrefix(d.Message, want) {
		t.Fatalf("a refusal at the limit: %+v", d)
	}
	if len(d.Message) > 512 || len(d.Reason) > 512 {
		t.Errorf("message %d bytes, reason %d bytes; want short", len(d.Message), len(d.Reason))
	}
	if alloc > 8<<20 {
		t.Errorf("a refusal of %d names allocated %d bytes; want under 8 MiB", MaxArgumentNames, alloc)
	}
	if line := log.String(); len(line) > 2048 || !strings.Contains(line, fmt.Sprintf(`"argument_count":%d`, MaxArgumentNames)) {
		t.Errorf("decision log line (%d bytes): %s", len(line), line)
	}
	d, _ = ask(argsWith(1, MaxArgumentNameBytes+1))
	if !d.Invalid || !strings.Contains(d.Message, fmt.Sprintf("an argument name of %d bytes (at most %d)", MaxArgumentNameBytes+1, MaxArgumentNameBytes)) {
		t.Fatalf("a long name: %+v", d)
	}
}

// TestDecisionCacheIsBoundedInBytes: entries whose keys hold long
// argument names fill the byte budget before the entry count.
func TestDecisionCacheIsBoundedInBytes(t *testing.T) {
	var c decisionCache
	key := strings.Repeat("k", 64<<10)
	for i := range 2 * maxCachedBytes / len(key) {
		c.put(fmt.Sprint(i, key), Decision{Reason: "r", Message: "m"})
		if c.bytes > maxCachedBytes {
			t.Fatalf("after %d entries the cache holds %d bytes", i+1, c.bytes)
		}
	}
}

func TestDecisionLog(t *testing.T) {
	for _, values := range []bool{false, true} {
		var buf bytes.Buffer
		src := testConfig + "  decision_log: {argument_values: " + map[bool]string{false: "false", true: "true"}[values] + "}\n"
		e := newEngine(t, src, Options{DecisionLog: &buf})
		p := principal(t, e, "sk-full")
		e.Decide(Request{Principal: p, Method: "tools/call", Server: "wiki", Kind: KindTool, Name: "read_wiki_contents",
			Arguments: json.RawMessage(`{"status":"s3cr3t-value","limit":1}`)})
		e.Authenticate(keyHeader("sk-revoked"))
		e.LogList(Request{Principal: p, Method: "tools/list"}, 3, 2, time.Millisecond)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 3 {
			t.Fatalf("want 3 lines, got:\n%s", buf.String())
		}
		var call map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &call); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]any{"principal": "full", "server": "wiki", "tool": "read_wiki_contents", "decision": "deny", "method": "tools/call"} {
			if call[k] != v {
				t.Errorf("%s = %v, want %v", k, call[k], v)
			}
		}
		if _, ok := call["latency_us"].(float64); !ok || !strings.Contains(call["reason"].(string), "limit") {
			t.Errorf("line = %s", lines[0])
		}
		if strings.Contains(buf.String(), "s3cr3t-value") != values {
			t.Errorf("argument_values=%v, log:\n%s", values, buf.String())
		}
		if !values && !strings.Contains(lines[0], `"argument_names":["status","limit"]`) {
			t.Errorf("argument names missing: %s", lines[0])
		}
		if strings.Contains(buf.String(), "sk-") {
			t.Errorf("a key in the decision log:\n%s", buf.String())
		}
		if !strings.Contains(lines[1], `"status":401`) || !strings.Contains(lines[1], `"principal":"revoked"`) || !strings.Contains(lines[2], `"hidden":2`) {
			t.Errorf("lines:\n%s", buf.String())
		}
	}
}

func TestCacheFollowsWhatThePolicyReads(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	if p := e.Current(); !p.cacheable || p.use.reads("arguments") || p.use.reads("headers") || !p.use.reads("argument_keys") {
		t.Fatalf("shipped policy: cacheable=%v use=%+v", p.cacheable, p.use)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sql.rego"), sqlRule)
	e = newEngine(t, "mcp_servers:\n  db:\n    url: https://db.example/mcp\naccess:\n  policy_dir: "+dir+"\n", Options{})
	if !e.Current().use.reads("arguments") {
		t.Fatal("argument values must be part of the cache key")
	}
	writeFile(t, filepath.Join(dir, "time.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"night\" if time.clock(time.now_ns())[0] > 30\n")
	e = newEngine(t, "mcp_servers:\n  db:\n    url: https://db.example/mcp\naccess:\n  policy_dir: "+dir+"\n", Options{})
	if e.Current().cacheable {
		t.Fatal("a policy reading the clock must not be cached")
	}
}

func TestReloadIsAtomic(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	blocked := parseConfig(t, strings.Replace(testConfig, "key_alias: full, key: sk-full,", "key_alias: full, key: sk-full, blocked: true,", 1))
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				p, err := e.Authenticate(keyHeader("sk-docs"))
				if err != nil {
					t.Error(err)
					return
				}
				if d := e.Decide(Request{Principal: p, Method: "tools/call", Server: "wiki", Kind: KindTool, Name: "x"}); !d.Allow {
					t.Errorf("decision changed for a key the reload does not touch: %+v", d)
					return
				}
			}
		})
	}
	for range 5 {
		if err := e.Reload(context.Background(), blocked); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if _, err := e.Authenticate(keyHeader("sk-full")); err == nil {
		t.Fatal("blocked key still accepted after reload")
	}
	if e.Generation() != 6 {
		t.Errorf("generation %d", e.Generation())
	}
}

// The decision cache tells inputs apart whatever bytes their fields hold:
// an argument name with a separator byte in it is not another call's
// argument list (it once was, and a refused call was then allowed).
func TestCacheKeysDoNotCollide(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	p := principal(t, e, "sk-full")
	call := func(args string) Decision {
		return e.Decide(Request{Principal: p, Method: "tools/call", Server: "wiki", Kind: KindTool, Name: "search", Arguments: []byte(args)})
	}
	if d := call(`{"q":1,"limit":2}`); !d.Allow {
		t.Fatalf("allowed arguments refused: %+v", d)
	}
	for _, args := range []string{`{"q\u0001limit":1}`, `{"q\u0000limit":1}`} {
		if d := call(args); d.Allow {
			t.Errorf("%s allowed from the cache of another call", args)
		}
	}
}

// ListKey tells when a filtered list can be reused: the same for two
// items of one caller's list, different for another caller, another
// policy version, or what else the policy reads.
func TestListKey(t *testing.T) {
	e := newEngine(t, testConfig, Options{})
	full, docs := principal(t, e, "sk-full"), principal(t, e, "sk-docs")
	list := func(p *identity.Principal, server, name string) Request {
		return Request{Principal: p, Method: "tools/list", Server: server, Kind: KindTool, Name: name,
			Header: func(string) string { return "" }}
	}
	key := func(e *Engine, r Request) string {
		t.Helper()
		k, ok := e.ListKey(r)
		if !ok {
			t.Fatalf("no list key for %+v", r)
		}
		return k
	}
	if key(e, list(full, "wiki", "search")) != key(e, list(full, "github", "list_issues")) {
		t.Error("two items of one list have different keys")
	}
	if key(e, list(full, "wiki", "search")) == key(e, list(docs, "wiki", "search")) {
		t.Error("two keys' lists share a key")
	}
	before := key(e, list(full, "wiki", "search"))
	if err := e.Reload(context.Background(), parseConfig(t, testConfig)); err != nil {
		t.Fatal(err)
	}
	if key(e, list(full, "wiki", "search")) == before {
		t.Error("a reloaded policy keeps the old list key")
	}
	if _, ok := e.ListKey(Request{Method: "tools/list", Kind: KindTool}); ok {
		t.Error("a list key without a principal")
	}

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "agent.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"bots may not\" if input.headers[\"user-agent\"] == \"bot\"\n")
	e = newEngine(t, "mcp_servers:\n  db:\n    url: https://db.example/mcp\naccess:\n  policy_dir: "+dir+"\n", Options{})
	withAgent := func(agent string) Request {
		r := list(identity.Anonymous(), "db", "q")
		r.Header = func(name string) string {
			if name == "user-agent" {
				return agent
			}
			return ""
		}
		return r
	}
	if key(e, withAgent("bot")) == key(e, withAgent("human")) {
		t.Error("the list key ignores a header the policy reads")
	}
	if e.Visible(withAgent("bot")) || !e.Visible(withAgent("human")) {
		t.Error("the header rule does not apply (the test proves nothing)")
	}

	writeFile(t, filepath.Join(dir, "time.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"night\" if time.clock(time.now_ns())[0] > 30\n")
	e = newEngine(t, "mcp_servers:\n  db:\n    url: https://db.example/mcp\naccess:\n  policy_dir: "+dir+"\n", Options{})
	if _, ok := e.ListKey(withAgent("human")); ok {
		t.Error("a list key for a policy reading the clock")
	}
}

// A call Envoy's fast path decided gets the line of a routed call's allow,
// with decided_by "envoy" and no latency, and is counted as an allow.
func TestLogDecidedByEnvoy(t *testing.T) {
	var buf bytes.Buffer
	e := newEngine(t, testConfig, Options{DecisionLog: &buf})
	var seen []Decision
	e.Observe(func(d Decision) { seen = append(seen, d) })
	e.LogDecidedByEnvoy(Request{Principal: &identity.Principal{ID: "full"}, Method: "tools/call", Server: "wiki", Name: "read_wiki_contents",
		Header: func(name string) string { return map[string]string{RequestIDHeader: "req-1"}[name] }})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	want := map[string]any{"log": "mcpgw.decision", "msg": "decision", "request_id": "req-1", "principal": "full", "method": "tools/call",
		"server": "wiki", "tool": "read_wiki_contents", "decision": "allow", "reason": "allowed", "decided_by": "envoy"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	for k := range line {
		if _, ok := want[k]; !ok && k != "time" && k != "level" {
			t.Errorf("unexpected field %s in %s", k, buf.String())
		}
	}
	if len(seen) != 1 || !seen[0].Allow || seen[0].Hidden || seen[0].Invalid {
		t.Errorf("observed %+v", seen)
	}
}
