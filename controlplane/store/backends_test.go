package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	admin := os.Getenv("MCPGW_POSTGRES_URL")
	if admin == "" {
		if os.Getenv("MCPGW_REQUIRE_POSTGRES") == "1" {
			t.Fatal("MCPGW_REQUIRE_POSTGRES=1 but MCPGW_POSTGRES_URL is not set (scripts/ensure-postgres.sh prints it)")
		}
		t.Log("PostgreSQL not tested: set MCPGW_POSTGRES_URL (make postgres prints one)")
		return bs
	}
	return append(bs, backend{name: "postgres", fresh: func(t *testing.T) string { return freshPostgres(t, admin) }})
}

// forEachBackend runs fn as a subtest per backend, each on a fresh database.
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fn(t, b.fresh(t)) })
	}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// freshPostgres creates a database named after the test and drops it
// (with whatever connections are left) when the test ends.
func freshPostgres(t *testing.T, admin string) string {
	t.Helper()
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	name = "mcpgw_t_" + name + "_" + hex.EncodeToString(suffix)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("MCPGW_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
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
