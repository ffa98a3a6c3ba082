package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// The suite runs against SQLite always and against PostgreSQL when
// MCPGW_POSTGRES_URL is set (scripts/ensure-postgres.sh prints one; its
// role must be allowed to create databases). MCPGW_REQUIRE_POSTGRES=1
// makes a missing URL a failure, so that CI never skips it silently.

// backend makes fresh, empty databases of one kind.
type backend struct {
	name string
	// fresh returns the URL of a new database, dropped when the test ends.
	fresh func(t *testing.T) string
}

func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "sqlite", fresh: func(t *testing.T) string {
		return "sqlite:" + filepath.Join(t.TempDir(), "store.db")
	}}}
	admin := testutil.PostgresURL(t)
	if admin == "" {
		t.Log("PostgreSQL not tested: set MCPGW_POSTGRES_URL (make postgres prints one)")
		return bs
	}
	return append(bs, backend{name: "postgres", fresh: func(t *testing.T) string { return testutil.FreshPostgres(t, admin) }})
}

// forEachBackend runs fn as a subtest per backend, each on a fresh database.
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fn(t, b.fresh(t)) })
	}
}

// open opens a Store, closed when the test ends.
func open(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawDB opens the database under a Store's feet (no migrations), closed
// when the test ends.
func rawDB(t *testing.T, url string) (*sql.DB, dialect) {
	t.Helper()
	tg, err := parseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	var cfg *pgx.ConnConfig
	if tg.dialect == postgresDialect {
		if cfg, err = pgx.ParseConfig(tg.url); err != nil {
			t.Fatal(err)
		}
	}
	db, err := openDB(t.Context(), tg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, tg.dialect
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
