package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFiles embed.FS

// migration is one forward-only schema change.
type migration struct {
	version int
	name    string // the file's name, e.g. "0001_objects.sql"
	sql     string
}

// migrations returns a dialect's migrations in order. Their files are named
// NNNN_what.sql, numbered from 1 without gaps.
func migrations(d dialect) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s: want NNNN_what.sql", dir, e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations/%s: %s is number %d, want %d", d, m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrationLock is the pg_advisory_xact_lock key every migration takes, so
// that replicas starting together apply each migration once. Any constant
// works; this one is "mcpgwmig" in ASCII.
const migrationLock = 0x6d637067776d6967

// migrate applies the migrations numbered up to upTo (0: all) that the
// database lacks, each in a transaction of its own, and refuses a database
// whose schema is newer than the newest migration this binary has.
func migrate(ctx context.Context, db *sql.DB, d dialect, upTo int) error {
	ms, err := migrations(d)
	if err != nil {
		return err
	}
	newest := len(ms)
	if upTo == 0 || upTo > newest {
		upTo = newest
	}
	for _, m := range ms[:upTo] {
		if err := applyOne(ctx, db, d, m, newest); err != nil {
			return err
		}
	}
	return nil
}

// applyOne applies m unless the database has it. The check runs inside the
// transaction, after the lock, so a replica that lost the race sees the
// winner's row and skips.
func applyOne(ctx context.Context, db *sql.DB, d dialect, m migration, newest int) error {
	tx, err := db.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE (the DSN's _txlock)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d == postgresDialect {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return err
		}
	}
	appliedAt := "TEXT"
	if d == postgresDialect {
		appliedAt = "TIMESTAMPTZ"
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mcpgw_schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at `+appliedAt+` NOT NULL
)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM mcpgw_schema_migrations").Scan(&current); err != nil {
		return err
	}
	if current > newest {
		return fmt.Errorf("%w: it is at version %d, this mcpgw knows up to %d (run the newer mcpgw, or restore a backup from before it migrated)", ErrSchemaTooNew, current, newest)
	}
	var have int
	if err := tx.QueryRowContext(ctx, d.q("SELECT COUNT(*) FROM mcpgw_schema_migrations WHERE version = ?"), m.version).Scan(&have); err != nil {
		return err
	}
	if have > 0 {
		return tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s/%s: %w", d, m.name, err)
	}
	if _, err := tx.ExecContext(ctx, d.q("INSERT INTO mcpgw_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, d.t(time.Now().UTC())); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s/%s: %w", d, m.name, err)
	}
	return nil
}
