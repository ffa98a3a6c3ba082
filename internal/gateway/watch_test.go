package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// Generous: each reload compiles Rego, and make test runs packages in
	// parallel on small machines.
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatch edits the policy and the config of a running engine: good
// edits take effect, broken ones are logged with file and line and leave
// the previous version in place.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfgText := "mcp_servers:\n  db:\n    url: https://db.example/mcp\naccess:\n  policy_dir: rules\n  keys:\n    - {key_alias: a, key: sk-a, object_permission: {mcp_servers: [db]}}\n"
	writeFile(t, cfgPath, cfgText)
	writeFile(t, filepath.Join(dir, "rules", "sql.rego"), sqlRule)
	cfg, err := configfile.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(context.Background(), cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Watch(ctx, e, ConfigSource{Path: cfgPath}, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()

	p := principal(t, e, "sk-a")
	selectCall := policy.Request{Principal: p, Method: "tools/call", Server: "db", Kind: policy.KindTool, Name: "run_query", Arguments: json.RawMessage(`{"sql":"select * from t"}`)}
	if !e.Decide(selectCall).Allow {
		t.Fatal("select denied before any edit")
	}

	// A new rule takes effect.
	writeFile(t, filepath.Join(dir, "rules", "select.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"no select\" if contains(input.arguments.sql, \"select\")\n")
	waitUntil(t, "the new rule", func() bool { return !e.Decide(selectCall).Allow })
	gen := e.Generation()

	// A broken rule is logged with its file and line; the last good
	// version keeps deciding.
	writeFile(t, filepath.Join(dir, "rules", "select.rego"), "package mcpgw.custom\n\nimport rego.v1\n\ndeny contains \"x\" if {\n")
	waitUntil(t, "the reload error", func() bool { return strings.Contains(logs.String(), "policy reload failed") })
	if !strings.Contains(logs.String(), "select.rego line=6") && !strings.Contains(logs.String(), "select.rego line=5") {
		t.Errorf("error does not name file and line:\n%s", logs.String())
	}
	if e.Generation() != gen || e.Decide(selectCall).Allow {
		t.Fatal("a broken policy replaced the running one")
	}

	// A broken config, likewise.
	writeFile(t, cfgPath, cfgText+"  bogus: 1\n")
	waitUntil(t, "the config error", func() bool { return strings.Contains(logs.String(), "config reload failed") })
	if !strings.Contains(logs.String(), "path=access.bogus") || !strings.Contains(logs.String(), "line=8") {
		t.Errorf("config error does not name the field and line:\n%s", logs.String())
	}

	// Fixing both: revoking the key in the config takes effect.
	os.Remove(filepath.Join(dir, "rules", "select.rego"))
	writeFile(t, cfgPath, strings.Replace(cfgText, "key: sk-a,", "key: sk-a, blocked: true,", 1))
	waitUntil(t, "the revocation", func() bool { _, err := e.Authenticate(keyHeader("sk-a")); return err != nil })
	if !strings.Contains(logs.String(), "access control reloaded") {
		t.Errorf("logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "need a restart") {
		t.Errorf("an access-only edit was said to need a restart:\n%s", logs.String())
	}

	// A new server is not applied by a reload: the warning names it, and
	// the rest of the config still reloads.
	writeFile(t, cfgPath, strings.Replace(cfgText, "mcp_servers:\n", "mcp_servers:\n  notes:\n    url: https://notes.example/mcp\n", 1))
	waitUntil(t, "the restart warning", func() bool { return strings.Contains(logs.String(), "need a restart") })
	if !strings.Contains(logs.String(), "servers_added=[notes]") {
		t.Errorf("the warning does not name the new server:\n%s", logs.String())
	}
	if n := len(e.Current().Config().Servers); n != 1 {
		t.Errorf("the policy sees %d servers after the reload; the running gateway has 1", n)
	}
	if _, err := e.Authenticate(keyHeader("sk-a")); err != nil {
		t.Errorf("the key is still revoked after a reload that unblocked it: %v", err)
	}
}

// With ConfigSource.Apply, the watcher hands each loaded config to it (the
// running gateway applies servers too) instead of reloading the access
// settings alone; an error from it is logged and keeps the running state.
func TestWatchApply(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, "mcp_servers:\n  db:\n    url: https://db.example/mcp\n")
	cfg, err := configfile.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(context.Background(), cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	applied := make(chan *config.Config, 4)
	fail := make(chan error, 4)
	apply := func(ctx context.Context, next *config.Config) error {
		select {
		case err := <-fail:
			return err
		default:
		}
		if err := e.Reload(ctx, next); err != nil {
			return err
		}
		applied <- next
		return nil
	}
	var logs testutil.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Watch(ctx, e, ConfigSource{Path: cfgPath, Apply: apply}, 10*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // the watcher has taken its first look

	writeFile(t, cfgPath, "mcp_servers:\n  db:\n    url: https://db.example/mcp\n  notes:\n    url: https://notes.example/mcp\n")
	select {
	case next := <-applied:
		if len(next.Servers) != 2 {
			t.Fatalf("applied servers %+v", next.Servers)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the edit was not applied:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "need a restart") {
		t.Errorf("servers applied live were said to need a restart:\n%s", logs.String())
	}

	fail <- context.DeadlineExceeded
	writeFile(t, cfgPath, "mcp_servers:\n  db:\n    url: https://db.example/mcp\n")
	waitUntil(t, "the apply error", func() bool { return strings.Contains(logs.String(), "keeping the running servers") })
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

func keyHeader(key string) func(string) string {
	return func(name string) string {
		if name == "x-litellm-api-key" {
			return key
		}
		return ""
	}
}

func principal(t *testing.T, e *policy.Engine, key string) *identity.Principal {
	t.Helper()
	p, err := e.Authenticate(keyHeader(key))
	if err != nil {
		t.Fatalf("authenticate %s: %v", key, err)
	}
	return p
}
