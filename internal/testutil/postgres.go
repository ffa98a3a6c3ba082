package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURL returns the test PostgreSQL server's URL (make test starts
// one and sets MCPGW_POSTGRES_URL), or "" when there is none. Under
// MCPGW_REQUIRE_POSTGRES=1 a missing URL fails the test: CI never skips
// PostgreSQL silently.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("MCPGW_POSTGRES_URL")
	if u == "" && os.Getenv("MCPGW_REQUIRE_POSTGRES") == "1" {
		t.Fatal("MCPGW_POSTGRES_URL is not set (make test sets it; make postgres prints one)")
	}
	return u
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// FreshPostgres creates a database named after the test on the server at
// admin and drops it (with whatever connections are left) when the test
// ends; it returns the new database's URL.
func FreshPostgres(t testing.TB, admin string) string {
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
