package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
)

// Both dialects have the same migrations, by number and name.
func TestMigrationFiles(t *testing.T) {
	lite, err := migrations(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(postgresDialect)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) < 2 || len(lite) != len(pg) {
		t.Fatalf("%d SQLite and %d PostgreSQL migrations", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].name != pg[i].name {
			t.Errorf("migration %d: %s on SQLite, %s on PostgreSQL", i+1, lite[i].name, pg[i].name)
		}
	}
}

func appliedVersions(t *testing.T, url string) string {
	t.Helper()
	db, _ := rawDB(t, url)
	rows, err := db.QueryContext(t.Context(), "SELECT version, name FROM mcpgw_schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(v, " ", name))
	}
	return strings.Join(got, ", ")
}

const allApplied = "1 0001_objects.sql, 2 0002_health.sql"

func TestMigrateFromEmpty(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		if got := appliedVersions(t, url); got != allApplied {
			t.Errorf("applied %q, want %q", got, allApplied)
		}
		// Opening again applies nothing and changes nothing.
		mustCreate(t, s, obj(controlplane.KindServer, "a", "", `{}`))
		open(t, url, Options{})
		if got := appliedVersions(t, url); got != allApplied {
			t.Errorf("after a second Open, applied %q", got)
		}
		if r := revision(t, s); r != 1 {
			t.Errorf("revision %d after a second Open, want 1", r)
		}
	})
}

// TestMigrateFromVersion1 starts from a database a binary that knew only
// migration 1 wrote to, and checks that its data survives the rest.
func TestMigrateFromVersion1(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		ctx := testContext(t)
		db, d := rawDB(t, url)
		if err := migrate(ctx, db, d, 1); err != nil {
			t.Fatal(err)
		}
		if got := appliedVersions(t, url); got != "1 0001_objects.sql" {
			t.Fatalf("applied %q, want only 1", got)
		}
		at := d.t(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
		for _, stmt := range []string{
			"INSERT INTO mcpgw_mcp_servers (" + objectColumns + ") VALUES ('srv1', 'github', 3, '{\"url\":\"https://x\"}', NULL, ?, ?, 'alice', 'bob')",
			"INSERT INTO mcpgw_teams (" + objectColumns + ") VALUES ('team1', NULL, 1, '{}', NULL, ?, ?, 'alice', 'alice')",
		} {
			if _, err := db.ExecContext(ctx, d.q(stmt), at, at); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, "UPDATE mcpgw_revision SET value = 7"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, d.q("INSERT INTO mcpgw_audit (at, actor, action, kind, object_id, before_doc, after_doc) VALUES (?, 'alice', 'create', 'team', 'team1', NULL, '{}')"), at); err != nil {
			t.Fatal(err)
		}
		db.Close()

		s := open(t, url, Options{})
		if got := appliedVersions(t, url); got != allApplied {
			t.Errorf("applied %q, want %q", got, allApplied)
		}
		srv, err := s.Get(ctx, controlplane.KindServer, "srv1")
		if err != nil {
			t.Fatal(err)
		}
		if srv.Name != "github" || srv.Version != 3 || string(srv.Doc) != `{"url":"https://x"}` || srv.CreatedBy != "alice" ||
			srv.UpdatedBy != "bob" || !srv.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)) {
			t.Errorf("server after migrating: %+v", srv)
		}
		if team, err := s.Get(ctx, controlplane.KindTeam, "team1"); err != nil || team.Name != "" {
			t.Errorf("team after migrating: %+v, %v", team, err)
		}
		if r := revision(t, s); r != 7 {
			t.Errorf("revision %d after migrating, want 7", r)
		}
		if es, err := s.Audit(ctx, controlplane.AuditQuery{}); err != nil || len(es) != 1 {
			t.Errorf("audit after migrating: %v, %v", es, err)
		}
		// What migration 2 added works on the old rows, and writes go on.
		if err := s.SetHealth(ctx, "srv1", controlplane.Health{Status: "healthy"}); err != nil {
			t.Fatal(err)
		}
		srv.Doc = []byte(`{"url":"https://y"}`)
		if _, err := s.Update(ctx, srv, "carol"); err != nil {
			t.Fatal(err)
		}
		if r := revision(t, s); r != 8 {
			t.Errorf("revision %d after a write, want 8", r)
		}
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		s.Close()
		db, d := rawDB(t, url)
		if _, err := db.ExecContext(t.Context(), d.q("INSERT INTO mcpgw_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			99, "0099_future.sql", d.t(time.Now())); err != nil {
			t.Fatal(err)
		}
		_, err := Open(testContext(t), url, Options{})
		if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 99") {
			t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew naming version 99", err)
		}
		t.Log(err)
	})
}

// Replicas starting at once on an empty database: every Open succeeds and
// each migration is applied once.
func TestConcurrentOpen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				s, err := Open(testContext(t), url, Options{})
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
			}
		}
		if got := appliedVersions(t, url); got != allApplied {
			t.Errorf("applied %q, want %q", got, allApplied)
		}
	})
}
