package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
)

const testKey = "sk-test-salt-key"

func obj(kind controlplane.Kind, id, name, doc string) controlplane.Object {
	return controlplane.Object{Kind: kind, ID: id, Name: name, Doc: json.RawMessage(doc)}
}

func TestCRUD(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{EncryptionKey: testKey})
		ctx := testContext(t)
		for _, kind := range controlplane.Kinds {
			t.Run(string(kind), func(t *testing.T) {
				before := time.Now().Add(-time.Second)
				for _, id := range []string{"b", "a", "c"} {
					o := obj(kind, id, "name-"+id, `{"id":"`+id+`","n":1}`)
					got, err := s.Create(ctx, o, "alice")
					if err != nil {
						t.Fatalf("Create %s: %v", id, err)
					}
					if got.Version != 1 || got.CreatedBy != "alice" || got.UpdatedBy != "alice" ||
						got.CreatedAt.Before(before) || !got.CreatedAt.Equal(got.UpdatedAt) {
						t.Errorf("Create returned %+v", got)
					}
					stored, err := s.Get(ctx, kind, id)
					if err != nil {
						t.Fatalf("Get %s: %v", id, err)
					}
					if !equalObjects(stored, got) {
						t.Errorf("Get = %+v, Create returned %+v", stored, got)
					}
				}
				list, err := s.List(ctx, kind)
				if err != nil {
					t.Fatal(err)
				}
				if ids := idsOf(list); ids != "a,b,c" {
					t.Errorf("List ids = %s, want a,b,c", ids)
				}

				a, _ := s.Get(ctx, kind, "a")
				a.Doc, a.Name = json.RawMessage(`{"id":"a","n":2}`), "renamed"
				upd, err := s.Update(ctx, a, "bob")
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				if upd.Version != 2 || upd.UpdatedBy != "bob" || upd.CreatedBy != "alice" ||
					!upd.CreatedAt.Equal(a.CreatedAt) || upd.UpdatedAt.Before(a.UpdatedAt) {
					t.Errorf("Update returned %+v", upd)
				}
				got, _ := s.Get(ctx, kind, "a")
				if !equalObjects(got, upd) || string(got.Doc) != `{"id":"a","n":2}` || got.Name != "renamed" {
					t.Errorf("after Update, Get = %+v", got)
				}

				deleted, err := s.Delete(ctx, kind, "a", "bob")
				if err != nil || !deleted {
					t.Fatalf("Delete = %v, %v", deleted, err)
				}
				if _, err := s.Get(ctx, kind, "a"); !errors.Is(err, controlplane.ErrNotFound) {
					t.Errorf("Get after Delete: %v, want ErrNotFound", err)
				}
				if deleted, err := s.Delete(ctx, kind, "a", "bob"); err != nil || deleted {
					t.Errorf("second Delete = %v, %v; want false, nil", deleted, err)
				}
				if _, err := s.Update(ctx, upd, "bob"); !errors.Is(err, controlplane.ErrNotFound) {
					t.Errorf("Update of a deleted object: %v, want ErrNotFound", err)
				}
			})
		}

		// An object without a name or doc; an unknown kind; bad documents.
		o, err := s.Create(ctx, controlplane.Object{Kind: controlplane.KindKey, ID: "nameless"}, "alice")
		if err != nil || string(o.Doc) != "{}" {
			t.Errorf("Create without name and doc = %+v, %v", o, err)
		}
		for _, bad := range []controlplane.Object{
			{Kind: "widget", ID: "x"},
			{Kind: controlplane.KindKey, ID: ""},
			{Kind: controlplane.KindKey, ID: "x", Doc: json.RawMessage(`[1]`)},
			{Kind: controlplane.KindKey, ID: "x", Doc: json.RawMessage(`{"a":`)},
			{Kind: controlplane.KindKey, ID: "x", Secret: json.RawMessage(`"s"`)},
		} {
			if _, err := s.Create(ctx, bad, "alice"); err == nil {
				t.Errorf("Create(%+v) succeeded", bad)
			}
		}
		if _, err := s.List(ctx, "widget"); err == nil {
			t.Error("List of an unknown kind succeeded")
		}
	})
}

func TestConflicts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		mustCreate(t, s, obj(controlplane.KindServer, "s1", "github", `{}`))
		mustCreate(t, s, obj(controlplane.KindServer, "s2", "", `{}`))
		mustCreate(t, s, obj(controlplane.KindServer, "s3", "", `{}`)) // two without a name
		mustCreate(t, s, obj(controlplane.KindTeam, "t1", "github", `{}`))
		rev := revision(t, s)

		for _, tc := range []struct {
			name string
			obj  controlplane.Object
			want string
		}{
			{"same id", obj(controlplane.KindServer, "s1", "other", `{}`), `mcp "s1": already exists`},
			{"same name", obj(controlplane.KindServer, "s9", "github", `{}`), `mcp named "github": already exists`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.Create(ctx, tc.obj, "alice")
				if !errors.Is(err, controlplane.ErrConflict) || err.Error() != tc.want {
					t.Errorf("Create: %v, want ErrConflict %q", err, tc.want)
				}
			})
		}
		s2, _ := s.Get(ctx, controlplane.KindServer, "s2")
		s2.Name = "github"
		if _, err := s.Update(ctx, s2, "alice"); !errors.Is(err, controlplane.ErrConflict) {
			t.Errorf("Update to a taken name: %v, want ErrConflict", err)
		}
		if got := revision(t, s); got != rev {
			t.Errorf("failed writes moved the revision %d -> %d", rev, got)
		}
		// The name is free again once its holder is renamed.
		s1, _ := s.Get(ctx, controlplane.KindServer, "s1")
		s1.Name = ""
		if _, err := s.Update(ctx, s1, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(ctx, s2, "alice"); err != nil {
			t.Errorf("Update to a freed name: %v", err)
		}
	})
}

func TestStale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		o := mustCreate(t, s, obj(controlplane.KindKey, "k", "", `{"v":1}`))
		first, second := o, o
		first.Doc, second.Doc = json.RawMessage(`{"v":2}`), json.RawMessage(`{"v":3}`)
		if _, err := s.Update(ctx, first, "alice"); err != nil {
			t.Fatal(err)
		}
		rev := revision(t, s)
		_, err := s.Update(ctx, second, "bob")
		if !errors.Is(err, controlplane.ErrStale) {
			t.Fatalf("Update based on version 1 again: %v, want ErrStale", err)
		}
		if !strings.Contains(err.Error(), "version 2") {
			t.Errorf("ErrStale does not say the stored version: %v", err)
		}
		got, _ := s.Get(ctx, controlplane.KindKey, "k")
		if string(got.Doc) != `{"v":2}` || got.Version != 2 || revision(t, s) != rev {
			t.Errorf("a stale update changed something: %+v", got)
		}
	})
}

func TestAuditAndRevision(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{EncryptionKey: testKey})
		ctx := testContext(t)
		if r := revision(t, s); r != 0 {
			t.Fatalf("new store at revision %d", r)
		}
		steps := []struct {
			name  string
			write func() error
			bumps bool
		}{
			{"create", func() error {
				o := obj(controlplane.KindServer, "srv", "one", `{"url":"http://a"}`)
				o.Secret = json.RawMessage(`{"token":"hunter2-plaintext"}`)
				_, err := s.Create(ctx, o, "alice")
				return err
			}, true},
			{"create other kind", func() error {
				_, err := s.Create(ctx, obj(controlplane.KindTeam, "team", "", `{"t":1}`), "carol")
				return err
			}, true},
			{"reads", func() error {
				if _, err := s.List(ctx, controlplane.KindServer); err != nil {
					return err
				}
				if _, err := s.Get(ctx, controlplane.KindServer, "srv"); err != nil {
					return err
				}
				_, err := s.Audit(ctx, controlplane.AuditQuery{})
				return err
			}, false},
			{"health", func() error {
				return s.SetHealth(ctx, "srv", controlplane.Health{Status: "healthy", CheckedAt: time.Now()})
			}, false},
			{"update", func() error {
				o, _ := s.Get(ctx, controlplane.KindServer, "srv")
				o.Doc = json.RawMessage(`{"url":"http://b"}`)
				_, err := s.Update(ctx, o, "bob")
				return err
			}, true},
			{"failed create", func() error {
				if _, err := s.Create(ctx, obj(controlplane.KindServer, "srv", "", `{}`), "bob"); !errors.Is(err, controlplane.ErrConflict) {
					return fmt.Errorf("got %v, want ErrConflict", err)
				}
				return nil
			}, false},
			{"delete absent", func() error {
				_, err := s.Delete(ctx, controlplane.KindServer, "nope", "bob")
				return err
			}, false},
			{"delete", func() error {
				_, err := s.Delete(ctx, controlplane.KindServer, "srv", "dave")
				return err
			}, true},
		}
		for _, st := range steps {
			before := revision(t, s)
			if err := st.write(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			after := revision(t, s)
			if st.bumps && after != before+1 || !st.bumps && after != before {
				t.Errorf("%s: revision %d -> %d (bumps: %v)", st.name, before, after, st.bumps)
			}
		}

		all, err := s.Audit(ctx, controlplane.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		type entry struct{ actor, action, kind, id, before, after string }
		var got []entry
		for _, e := range all {
			got = append(got, entry{e.Actor, e.Action, string(e.Kind), e.ObjectID, string(e.Before), string(e.After)})
			if e.At.IsZero() || time.Since(e.At) > time.Minute {
				t.Errorf("entry %d at %v", e.ID, e.At)
			}
			if e.Action == "create" && e.Before != nil || e.Action == "delete" && e.After != nil {
				t.Errorf("entry %+v: want nil Before for a create, nil After for a delete", e)
			}
		}
		want := []entry{
			{"dave", "delete", "mcp", "srv", `{"url":"http://b"}`, ""},
			{"bob", "update", "mcp", "srv", `{"url":"http://a"}`, `{"url":"http://b"}`},
			{"carol", "create", "team", "team", "", `{"t":1}`},
			{"alice", "create", "mcp", "srv", "", `{"url":"http://a"}`},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("audit =\n%v\nwant\n%v", got, want)
		}
		for _, e := range all {
			if strings.Contains(string(e.Before)+string(e.After), "hunter2") {
				t.Errorf("audit entry %d holds the secret", e.ID)
			}
		}

		for _, tc := range []struct {
			q    controlplane.AuditQuery
			want string
		}{
			{controlplane.AuditQuery{Kind: controlplane.KindTeam}, "create team"},
			{controlplane.AuditQuery{Kind: controlplane.KindServer, ObjectID: "srv", Limit: 2}, "delete srv,update srv"},
			{controlplane.AuditQuery{BeforeID: all[1].ID}, "create team,create srv"},
			{controlplane.AuditQuery{ObjectID: "nope"}, ""},
			{controlplane.AuditQuery{Limit: 5000}, "delete srv,update srv,create team,create srv"},
		} {
			es, err := s.Audit(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range es {
				names = append(names, e.Action+" "+e.ObjectID)
			}
			if strings.Join(names, ",") != tc.want {
				t.Errorf("Audit(%+v) = %q, want %q", tc.q, strings.Join(names, ","), tc.want)
			}
		}
	})
}

func TestHealth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		ctx := testContext(t)
		mustCreate(t, s, obj(controlplane.KindServer, "a", "", `{}`))
		mustCreate(t, s, obj(controlplane.KindServer, "b", "", `{}`))
		rev := revision(t, s)
		at := time.Date(2026, 5, 1, 12, 0, 0, 123456000, time.UTC)
		for _, h := range []struct {
			id string
			h  controlplane.Health
		}{
			{"a", controlplane.Health{Status: "unknown", CheckedAt: at.Add(-time.Hour)}},
			{"a", controlplane.Health{Status: "healthy", CheckedAt: at}},
			{"b", controlplane.Health{Status: "unhealthy", CheckedAt: at, Error: "connection refused"}},
		} {
			if err := s.SetHealth(ctx, h.id, h.h); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]controlplane.Health{
			"a": {Status: "healthy", CheckedAt: at},
			"b": {Status: "unhealthy", CheckedAt: at, Error: "connection refused"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Health = %v, want %v", got, want)
		}
		// A config-file server has health and no stored object.
		if err := s.SetHealth(ctx, "from-config", controlplane.Health{Status: "unhealthy", CheckedAt: at}); err != nil {
			t.Errorf("SetHealth of a server not stored: %v", err)
		}
		want["from-config"] = controlplane.Health{Status: "unhealthy", CheckedAt: at}
		if err := s.SetHealth(ctx, "a", controlplane.Health{Status: "fine"}); err == nil {
			t.Error("SetHealth with status fine succeeded")
		}
		if r := revision(t, s); r != rev {
			t.Errorf("SetHealth moved the revision %d -> %d", rev, r)
		}
		if es, _ := s.Audit(ctx, controlplane.AuditQuery{}); len(es) != 2 {
			t.Errorf("%d audit entries, want the 2 creates", len(es))
		}
		if _, err := s.Delete(ctx, controlplane.KindServer, "a", "alice"); err != nil {
			t.Fatal(err)
		}
		delete(want, "a")
		if got, _ := s.Health(ctx); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after deleting a, Health = %v, want %v", got, want)
		}
	})
}

// TestChangedAcrossHandles is what replicas do: one writes, the other
// hears of it within about a second. On PostgreSQL the listener polls
// only every minute here, so the notification must carry it.
func TestChangedAcrossHandles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		writer := open(t, url, Options{})
		opts := Options{}
		if strings.HasPrefix(url, "postgres") {
			opts.PollInterval = 15 * time.Second // polls every minute
		}
		reader := open(t, url, opts)
		ctx := testContext(t)
		ch := reader.Changed(ctx)
		time.Sleep(300 * time.Millisecond) // give LISTEN a moment; polling would not be in time

		for i := range 3 {
			start := time.Now()
			mustCreate(t, writer, obj(controlplane.KindKey, fmt.Sprint("k", i), "", `{}`))
			select {
			case <-ch:
				t.Logf("write %d heard after %v", i, time.Since(start))
			case <-time.After(1500 * time.Millisecond):
				t.Fatalf("write %d not heard within 1.5s", i)
			}
		}
		// Reads and health checks are not changes.
		if err := writer.SetHealth(ctx, "k0", controlplane.Health{Status: "healthy"}); err != nil {
			t.Fatal(err)
		}
		if _, err := writer.List(ctx, controlplane.KindKey); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			t.Error("Changed fired without a write")
		case <-time.After(min(2*reader.poll, time.Second)):
		}

		// The channel closes when its context ends, and at Close.
		cctx, cancel := context.WithCancel(ctx)
		ch2 := reader.Changed(cctx)
		cancel()
		waitClosed(t, ch2)
		ch3 := reader.Changed(ctx)
		if err := reader.Close(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, ch3)
		waitClosed(t, ch)
	})
}

// TestChangedHearsAnOutage: a reader hears once when the revision cannot
// be read any more, and once when it can again, although the revision
// did not move: a follower whose reads failed meanwhile reads again by
// itself. (Renaming the revision table away is the outage.)
func TestChangedHearsAnOutage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{PollInterval: 20 * time.Millisecond})
		other := open(t, url, Options{})
		ctx := testContext(t)
		before := revision(t, s)
		ch := s.Changed(ctx)
		exec := func(q string) {
			t.Helper()
			if _, err := other.db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		receive := func(what string) {
			t.Helper()
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
				t.Fatalf("nothing heard when %s", what)
			}
		}
		quiet := func(what string) {
			t.Helper()
			select {
			case <-ch:
				t.Errorf("heard something %s", what)
			case <-time.After(300 * time.Millisecond):
			}
		}
		quiet("before the outage")

		exec("ALTER TABLE mcpgw_revision RENAME TO mcpgw_revision_away")
		receive("the revision could not be read any more")
		if _, err := s.Revision(ctx); err == nil {
			t.Fatal("the revision is readable without its table")
		}
		quiet("while the outage lasts")

		exec("ALTER TABLE mcpgw_revision_away RENAME TO mcpgw_revision")
		receive("the revision could be read again")
		if got := revision(t, s); got != before {
			t.Errorf("revision %d after the outage, want %d", got, before)
		}
		quiet("after the outage")
		mustCreate(t, other, obj(controlplane.KindKey, "k", "", `{}`))
		receive("a write followed the outage")
	})
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the Changed channel did not close")
		}
	}
}

// TestConcurrentIncrements: two handles (replicas) times several
// goroutines read-modify-write one counter, retrying on ErrStale; no
// increment may be lost.
func TestConcurrentIncrements(t *testing.T) {
	const workers, each = 6, 10
	forEachBackend(t, func(t *testing.T, url string) {
		handles := []*Store{open(t, url, Options{}), open(t, url, Options{})}
		ctx := testContext(t)
		mustCreate(t, handles[0], obj(controlplane.KindTeam, "counter", "", `{"n":0}`))

		var wg sync.WaitGroup
		var mu sync.Mutex
		stale := 0
		errs := make(chan error, len(handles)*workers)
		for _, s := range handles {
			for range workers {
				wg.Go(func() {
					for range each {
						for {
							o, err := s.Get(ctx, controlplane.KindTeam, "counter")
							if err != nil {
								errs <- err
								return
							}
							var doc struct{ N int }
							if err := json.Unmarshal(o.Doc, &doc); err != nil {
								errs <- err
								return
							}
							o.Doc = json.RawMessage(fmt.Sprintf(`{"n":%d}`, doc.N+1))
							_, err = s.Update(ctx, o, "worker")
							if errors.Is(err, controlplane.ErrStale) {
								mu.Lock()
								stale++
								mu.Unlock()
								continue
							}
							if err != nil {
								errs <- err
								return
							}
							break
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		o, err := handles[1].Get(ctx, controlplane.KindTeam, "counter")
		if err != nil {
			t.Fatal(err)
		}
		total := len(handles) * workers * each
		if string(o.Doc) != fmt.Sprintf(`{"n":%d}`, total) || o.Version != int64(total+1) {
			t.Errorf("counter = %s at version %d, want n=%d at version %d", o.Doc, o.Version, total, total+1)
		}
		if r := revision(t, handles[0]); r != int64(total+1) {
			t.Errorf("revision %d, want %d", r, total+1)
		}
		t.Logf("%d increments, %d stale retries", total, stale)
	})
}

func mustCreate(t *testing.T, s *Store, o controlplane.Object) controlplane.Object {
	t.Helper()
	got, err := s.Create(t.Context(), o, "alice")
	if err != nil {
		t.Fatalf("Create %s %s: %v", o.Kind, o.ID, err)
	}
	return got
}

func revision(t *testing.T, s *Store) int64 {
	t.Helper()
	r, err := s.Revision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func idsOf(os []controlplane.Object) string {
	var ids []string
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return strings.Join(ids, ",")
}

func equalObjects(a, b controlplane.Object) bool {
	return a.Kind == b.Kind && a.ID == b.ID && a.Name == b.Name && a.Version == b.Version &&
		string(a.Doc) == string(b.Doc) && string(a.Secret) == string(b.Secret) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) &&
		a.CreatedBy == b.CreatedBy && a.UpdatedBy == b.UpdatedBy
}

// TestListenReconnects: when the LISTEN connection is lost (here: the
// server ends it), the listener reconnects and notifications carry on;
// polling is too slow here to pass otherwise.
func TestListenReconnects(t *testing.T) {
	for _, b := range backends(t) {
		if b.name != "postgres" {
			continue
		}
		url := b.fresh(t)
		writer := open(t, url, Options{})
		reader := open(t, url, Options{PollInterval: 15 * time.Second})
		ctx := testContext(t)
		ch := reader.Changed(ctx)
		raw, _ := rawDB(t, url)
		for i := range 3 {
			// Wait for the listener, then end its connection.
			var ended int
			for deadline := time.Now().Add(5 * time.Second); ended == 0 && time.Now().Before(deadline); {
				if err := raw.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND query = 'LISTEN mcpgw_changes'`).Scan(&ended); err != nil {
					t.Fatal(err)
				}
				if ended == 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
			if ended == 0 {
				t.Fatalf("round %d: no LISTEN connection to end", i)
			}
			// A reconnection wakes the poller, which sees no change.
			time.Sleep(500 * time.Millisecond)
			select {
			case <-ch:
				t.Fatalf("round %d: Changed fired for a reconnection alone", i)
			default:
			}
			start := time.Now()
			mustCreate(t, writer, obj(controlplane.KindKey, fmt.Sprint("k", i), "", `{}`))
			select {
			case <-ch:
				t.Logf("round %d: heard after %v", i, time.Since(start))
			case <-time.After(2 * time.Second):
				t.Fatalf("round %d: write not heard within 2s of the listener's reconnection", i)
			}
		}
	}
}
