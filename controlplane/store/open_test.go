package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
)

func TestParseURL(t *testing.T) {
	dir := t.TempDir()
	cwd, _ := os.Getwd()
	for _, tc := range []struct {
		url     string
		dialect dialect
		name    string // "" for an error
	}{
		{"postgres://u:pw@db.internal:6543/mcpgw?sslmode=require", postgresDialect, "postgres db.internal:6543"},
		{"postgresql://u:pw@127.0.0.1/litellm", postgresDialect, "postgres 127.0.0.1:5432"},
		{"POSTGRES://u@[::1]:5433/x", postgresDialect, "postgres [::1]:5433"},
		{"sqlite:" + dir + "/a.db", sqliteDialect, "sqlite " + dir + "/a.db"},
		{"sqlite://" + dir + "/a.db", sqliteDialect, "sqlite " + dir + "/a.db"},
		{"sqlite:rel/store", sqliteDialect, "sqlite " + filepath.Join(cwd, "rel/store")},
		{"file:" + dir + "/b.sqlite", sqliteDialect, "sqlite " + dir + "/b.sqlite"},
		{dir + "/c.db", sqliteDialect, "sqlite " + dir + "/c.db"},
		{"data/mcpgw.sqlite3", sqliteDialect, "sqlite " + filepath.Join(cwd, "data/mcpgw.sqlite3")},
		{"sqlite::memory:", 0, ""},
		{"sqlite:", 0, ""},
		{"sqlite:x.db?mode=ro", 0, ""},
		{"mysql://u:pw@host/db", 0, ""},
		{"store.txt", 0, ""},
		{"", 0, ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parseURL(tc.url)
			if tc.name == "" {
				if err == nil {
					t.Fatalf("parseURL(%q) = %+v, want an error", tc.url, got)
				}
				if strings.Contains(err.Error(), ":pw@") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got.dialect != tc.dialect || got.name != tc.name {
				t.Errorf("parseURL(%q) = %+v, %v; want %v %q", tc.url, got, err, tc.dialect, tc.name)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://mcpgw:s3cret@127.0.0.1:55432/mcpgw?sslmode=disable": "postgres://mcpgw:xxxxx@127.0.0.1:55432/mcpgw?sslmode=disable",
		"postgres://h/db?password=s3cret&sslmode=disable":               "postgres://h/db?password=xxxxx&sslmode=disable",
		"postgres://mcpgw@h/db":                                         "postgres://mcpgw@h/db",
		"postgres://u:s3cret@h:bad port/db":                             "postgres://xxxxx@h:bad port/db",
		"sqlite:/tmp/x.db":                                              "sqlite:/tmp/x.db",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestUnreachablePostgres(t *testing.T) {
	port := closedPort(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	url := fmt.Sprintf("postgres://mcpgw:pa55word-s3cret@127.0.0.1:%d/mcpgw?sslmode=disable", port)
	_, err := Open(ctx, url, Options{})
	if !errors.Is(err, controlplane.ErrUnavailable) {
		t.Fatalf("Open: %v, want ErrUnavailable", err)
	}
	want := fmt.Sprintf("store unavailable: postgres 127.0.0.1:%d: connection refused", port)
	if err.Error() != want {
		t.Errorf("Open: %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "pa55word") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestClosedStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		s := open(t, url, Options{})
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		s.Close()
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := s.Get(t.Context(), controlplane.KindKey, "k"); !errors.Is(err, controlplane.ErrUnavailable) {
			t.Errorf("Get after Close: %v, want ErrUnavailable", err)
		}
		if err := s.Ping(t.Context()); !errors.Is(err, controlplane.ErrUnavailable) {
			t.Errorf("Ping after Close: %v, want ErrUnavailable", err)
		}
		if _, ok := <-s.Changed(t.Context()); ok {
			t.Error("Changed after Close gave a receive, want a closed channel")
		}
	})
}

// TestSQLiteLocked: another process holding SQLite's write lock past the
// busy timeout makes a write unavailable (a 503, worth a retry), not a
// failure of the request.
func TestSQLiteLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the busy timeout")
	}
	t.Parallel()
	url := "sqlite:" + filepath.Join(t.TempDir(), "store.db")
	s := open(t, url, Options{})
	other, _ := rawDB(t, url)
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(t.Context(), &sql.TxOptions{}) // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	start := time.Now()
	_, err = s.Create(t.Context(), obj(controlplane.KindKey, "k", "", `{}`), "alice")
	if !errors.Is(err, controlplane.ErrUnavailable) || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("Create while another holds the lock: %v, want ErrUnavailable (locked)", err)
	}
	if waited := time.Since(start); waited < busyTimeout-time.Second {
		t.Errorf("gave up after %v, before the busy timeout", waited)
	}
	t.Log(err)
	// Reads go on meanwhile (WAL).
	if _, err := s.List(t.Context(), controlplane.KindKey); err != nil {
		t.Errorf("List while another holds the write lock: %v", err)
	}
}
