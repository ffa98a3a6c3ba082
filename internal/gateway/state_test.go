package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/controlplane/admin"
	"github.com/mcpgw/mcpgw/controlplane/store"
	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// What the admin API writes, Merge serves: a stored server with its
// decrypted credentials, a key by its digest, a team; the config file
// wins a clash, and a stored object that no longer validates is left out
// and named.
func TestMergeWhatTheAdminAPIWrote(t *testing.T) {
	ctx := context.Background()
	file, err := configfile.Parse([]byte("general_settings:\n  master_key: sk-m\n  store_model_in_db: true\nmcp_servers:\n  wiki:\n    url: https://wiki.example/mcp\n"), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"), store.Options{EncryptionKey: "k-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := admin.New(admin.Options{Config: func() *config.Config { return file }, Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, body any) map[string]any {
		b, _ := json.Marshal(body)
		req := httptest.NewRequest(method, path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer sk-m")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		var out map[string]any
		json.Unmarshal(rec.Body.Bytes(), &out)
		return out
	}
	do("POST", "/v1/mcp/server", map[string]any{"server_name": "gh", "url": "https://gh.example/mcp", "transport": "http",
		"auth_type": "bearer_token", "credentials": map[string]any{"auth_value": "tok-secret"}, "mcp_access_groups": []string{"dev"}})
	do("POST", "/team/new", map[string]any{"team_id": "t1", "object_permission": map[string]any{"mcp_servers": []string{"gh"}}})
	key := do("POST", "/key/generate", map[string]any{"key_alias": "k", "team_id": "t1"})["key"].(string)
	// A stored object the validator refuses today, and one that clashes
	// with the config file (written around the API, as an older version
	// or another tool might have).
	st.Create(ctx, controlplane.Object{Kind: controlplane.KindServer, ID: "bad", Name: "bad", Doc: json.RawMessage(`{"server_name":"bad","transport":"http"}`)}, "test")
	st.Create(ctx, controlplane.Object{Kind: controlplane.KindServer, ID: "dup", Name: "wiki", Doc: json.RawMessage(`{"server_name":"wiki","url":"https://evil.example/mcp","transport":"http"}`)}, "test")

	stored, err := LoadStored(ctx, st, file)
	if err != nil {
		t.Fatal(err)
	}
	merged, problems := Merge(file, stored)
	var names []string
	for _, s := range merged.Servers {
		names = append(names, s.Name)
		if s.Name == "gh" && (s.AuthValue != "tok-secret" || len(s.AccessGroups) != 1) {
			t.Errorf("stored server lost fields: auth set %v, groups %v", s.AuthValue != "", s.AccessGroups)
		}
		if s.Name == "wiki" && !strings.Contains(s.URL, "wiki.example") {
			t.Errorf("the stored wiki replaced the config file's: %s", s.URL)
		}
	}
	if strings.Join(names, ",") != "wiki,gh" {
		t.Errorf("servers %v, want wiki,gh", names)
	}
	if len(problems) != 2 || !strings.Contains(strings.Join(problems, "\n"), "mcp bad") || !strings.Contains(strings.Join(problems, "\n"), "config file has a server") {
		t.Errorf("problems: %q", problems)
	}
	if strings.Contains(strings.Join(problems, "\n"), "tok-secret") {
		t.Error("a problem shows a secret")
	}
	if len(merged.Access.Keys) != 1 || merged.Access.Keys[0].TeamID != "t1" || merged.Access.Keys[0].Alias != "k" ||
		merged.Access.Keys[0].Token == "" || strings.Contains(merged.Access.Keys[0].Token, key) {
		t.Errorf("keys: %+v", merged.Access.Keys)
	}
	if len(merged.Access.Teams) != 1 || merged.Access.Teams[0].Permission.MCPServers[0] != "gh" {
		t.Errorf("teams: %+v", merged.Access.Teams)
	}
	if len(file.Servers) != 1 {
		t.Error("Merge changed the file config")
	}
}

// A write between the state's load (Open) and the follower's start is
// applied: Changed only reports revisions after the one it first reads,
// so Run refreshes once after subscribing.
func TestFollowerAppliesWritesBeforeRun(t *testing.T) {
	ctx := t.Context()
	file, err := configfile.Parse([]byte("general_settings:\n  master_key: sk-m\n  store_model_in_db: true\n"), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "f.db"), store.Options{PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored, err := LoadStored(ctx, st, file)
	if err != nil {
		t.Fatal(err)
	}
	// Written after the load, before the follower runs.
	if _, err := st.Create(ctx, controlplane.Object{Kind: controlplane.KindKey, ID: strings.Repeat("ab", 32), Name: "late",
		Doc: json.RawMessage(`{"token":"` + strings.Repeat("ab", 32) + `","key_alias":"late"}`)}, "test"); err != nil {
		t.Fatal(err)
	}
	applied := make(chan *config.Config, 4)
	f := NewFollower(st, file, stored, func(_ context.Context, c *config.Config) error { applied <- c; return nil }, slog.New(slog.DiscardHandler))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.Run(runCtx)
	select {
	case c := <-applied:
		if len(c.Access.Keys) != 1 || c.Access.Keys[0].Alias != "late" {
			t.Errorf("applied keys %+v, want the late one", c.Access.Keys)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a write made before Run was never applied")
	}
}

// Without a config file, the watcher applies the running (merged) config
// when a policy file changes: the follower merges its file again instead,
// so stored objects never become the file's.
func TestFollowerWatchApplyWithoutFile(t *testing.T) {
	ctx := t.Context()
	file, err := configfile.Parse([]byte("general_settings:\n  master_key: sk-m\n  store_model_in_db: true\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := Stored{Revision: 1, Objects: map[controlplane.Kind][]controlplane.Object{controlplane.KindServer: {{
		Kind: controlplane.KindServer, ID: "s1", Name: "gh", Version: 1,
		Doc: json.RawMessage(`{"server_id":"s1","server_name":"gh","url":"https://gh.example/mcp","transport":"http"}`)}}}}
	merged, problems := Merge(file, stored)
	if len(merged.Servers) != 1 || len(problems) != 0 {
		t.Fatalf("merged %d servers, problems %q", len(merged.Servers), problems)
	}
	var applied *config.Config
	f := NewFollower(nil, file, stored, func(_ context.Context, c *config.Config) error { applied = c; return nil }, slog.New(slog.DiscardHandler))
	if err := f.watchApply(merged.Path)(ctx, merged); err != nil {
		t.Fatal(err)
	}
	if n := len(f.File().Servers); n != 0 {
		t.Errorf("the follower's file has %d servers after a reload: the stored ones became the file's", n)
	}
	if applied == nil || len(applied.Servers) != 1 {
		t.Errorf("applied %v, want the stored server served", applied)
	}
}

// A follower's merge parses a stored object once and reuses it while its
// bytes stay the same; a changed, deleted or refused object, and other
// parse options, give what an uncached Merge gives.
func TestMergeReusesParsedObjects(t *testing.T) {
	file, err := configfile.Parse([]byte("mcp_servers:\n  wiki:\n    url: https://wiki.example/mcp\n"), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	obj := func(k controlplane.Kind, id, name, doc string) controlplane.Object {
		return controlplane.Object{Kind: k, ID: id, Name: name, Doc: json.RawMessage(doc)}
	}
	token := strings.Repeat("ab", 32)
	st := Stored{Revision: 1, Objects: map[controlplane.Kind][]controlplane.Object{
		controlplane.KindServer: {obj(controlplane.KindServer, "s1", "gh", `{"server_name":"gh","url":"https://gh.example/mcp","transport":"http"}`),
			obj(controlplane.KindServer, "bad", "bad", `{"server_name":"bad","transport":"http"}`)},
		controlplane.KindKey: {obj(controlplane.KindKey, token, "k", `{"token":"`+token+`","key_alias":"k"}`)},
	}}
	var cache parsedObjects
	check := func(step string, st Stored) *config.Config {
		t.Helper()
		got, gotProblems := merge(file, st, &cache)
		want, wantProblems := Merge(file, st)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotProblems, wantProblems) {
			t.Fatalf("%s: cached merge differs:\n%+v %q\nwant\n%+v %q", step, got, gotProblems, want, wantProblems)
		}
		return got
	}
	check("first", st)
	first := cache.last[parsedID{controlplane.KindKey, token}].doc

	// The same bytes in new slices (as a new read of the store gives):
	// reused, not parsed again.
	again := Stored{Revision: 2, Objects: map[controlplane.Kind][]controlplane.Object{}}
	for k, objs := range st.Objects {
		for _, o := range objs {
			o.Doc = slices.Clone(o.Doc)
			again.Objects[k] = append(again.Objects[k], o)
		}
	}
	check("same bytes", again)
	if got := cache.last[parsedID{controlplane.KindKey, token}].doc; &got[0] != &first[0] {
		t.Error("an unchanged key was parsed again")
	}

	// The key changes under the same id, the bad server goes.
	changed := Stored{Revision: 3, Objects: map[controlplane.Kind][]controlplane.Object{
		controlplane.KindServer: st.Objects[controlplane.KindServer][:1],
		controlplane.KindKey:    {obj(controlplane.KindKey, token, "k2", `{"token":"`+token+`","key_alias":"k2","blocked":true}`)},
	}}
	m := check("changed", changed)
	if k := m.Access.Keys[0]; k.Alias != "k2" || !k.Blocked {
		t.Errorf("changed key served as %+v", k)
	}
	if _, ok := cache.last[parsedID{controlplane.KindServer, "bad"}]; ok || len(cache.last) != 2 {
		t.Errorf("cache keeps %d entries (a deleted object's among them: %v), want 2", len(cache.last), ok)
	}

	// Another separator: parsed anew.
	sep := *file
	sep.General.MCPToolPrefixSeparator = "_"
	got, _ := merge(&sep, changed, &cache)
	want, _ := Merge(&sep, changed)
	if !reflect.DeepEqual(got, want) || cache.opts.Separator != "_" {
		t.Error("a merge with other options reused entries parsed with the old ones")
	}
}

// flakyStore is a store that can be taken down (its reads fail as
// unavailable) and whose change notifications the test sends.
type flakyStore struct {
	controlplane.Store
	down    atomic.Bool
	changed chan struct{}
}

func (s *flakyStore) Revision(ctx context.Context) (int64, error) {
	if s.down.Load() {
		return 0, fmt.Errorf("%w: test database: connection refused", controlplane.ErrUnavailable)
	}
	return s.Store.Revision(ctx)
}

func (s *flakyStore) List(ctx context.Context, k controlplane.Kind) ([]controlplane.Object, error) {
	if s.down.Load() {
		return nil, fmt.Errorf("%w: test database: connection refused", controlplane.ErrUnavailable)
	}
	return s.Store.List(ctx, k)
}

func (s *flakyStore) Changed(context.Context) <-chan struct{} { return s.changed }

// followerUnderTest runs a Follower over a fresh SQLite store wrapped in
// a flakyStore; apply records each merged state's key aliases and fails
// while fail says so.
func followerUnderTest(t *testing.T, fail func() bool) (*flakyStore, *testutil.SyncBuffer, func() []string) {
	t.Helper()
	file, err := configfile.Parse([]byte("general_settings:\n  master_key: sk-m\n  store_model_in_db: true\n"), "test.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "f.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &flakyStore{Store: st, changed: make(chan struct{}, 1)}
	var (
		mu      sync.Mutex
		applied []string
	)
	apply := func(_ context.Context, cfg *config.Config) error {
		if fail() {
			return errors.New("envoy did not acknowledge in time")
		}
		mu.Lock()
		defer mu.Unlock()
		applied = applied[:0]
		for _, k := range cfg.Access.Keys {
			applied = append(applied, k.Alias)
		}
		return nil
	}
	logs := &testutil.SyncBuffer{}
	stored, err := LoadStored(t.Context(), fs, file)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFollower(fs, file, stored, apply, slog.New(slog.NewTextHandler(logs, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return fs, logs, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(applied)
	}
}

// A state that failed to apply (Envoy slow to acknowledge, say) is
// applied by a retry, although the store's revision does not move again:
// a deleted key must not stay served until the next write.
func TestFollowerRetriesAFailedApply(t *testing.T) {
	var failures atomic.Int64
	failures.Store(2)
	fs, logs, applied := followerUnderTest(t, func() bool { return failures.Add(-1) >= 0 })
	if _, err := fs.Create(t.Context(), controlplane.Object{Kind: controlplane.KindKey, ID: strings.Repeat("ab", 32), Name: "ci",
		Doc: json.RawMessage(`{"token":"` + strings.Repeat("ab", 32) + `","key_alias":"ci"}`)}, "test"); err != nil {
		t.Fatal(err)
	}
	fs.changed <- struct{}{}
	waitUntil(t, "the key to be applied by a retry", func() bool { return slices.Contains(applied(), "ci") })
	if n := strings.Count(logs.String(), "new state not applied"); n != 2 {
		t.Errorf("%d failed applies logged, want 2:\n%s", n, logs.String())
	}
}

// The store down, then back: the follower says so once each way, and
// recovers by itself (retrying), even when no notification comes.
func TestFollowerRecoversFromAnOutage(t *testing.T) {
	fs, logs, applied := followerUnderTest(t, func() bool { return false })
	fs.down.Store(true)
	fs.changed <- struct{}{}
	waitUntil(t, "the follower to see the outage", func() bool { return strings.Contains(logs.String(), "store unreadable") })
	// A write while this replica cannot read (another replica's).
	if _, err := fs.Store.Create(t.Context(), controlplane.Object{Kind: controlplane.KindKey, ID: strings.Repeat("cd", 32), Name: "late",
		Doc: json.RawMessage(`{"token":"` + strings.Repeat("cd", 32) + `","key_alias":"late"}`)}, "test"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // a retry or two fail
	fs.down.Store(false)
	waitUntil(t, "the write made during the outage to be applied", func() bool { return slices.Contains(applied(), "late") })
	text := logs.String()
	if n := strings.Count(text, "store unreadable"); n != 1 {
		t.Errorf("%q logged %d times, want once:\n%s", "store unreadable", n, text)
	}
	if n := strings.Count(text, "store readable again"); n != 1 {
		t.Errorf("%q logged %d times, want once:\n%s", "store readable again", n, text)
	}
}
