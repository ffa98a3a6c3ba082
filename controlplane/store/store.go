package store

import (
	"bytes"
	"context"
	"crypto/cipher"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/mcpgw/mcpgw/controlplane"
)

// Options configure a Store.
type Options struct {
	// EncryptionKey encrypts Object.Secret at rest: any non-empty string
	// (LITELLM_SALT_KEY, gateway.encryption_key). Without one, writing a
	// secret is an error.
	EncryptionKey string
	// PollInterval is how often Changed reads the revision: every
	// PollInterval on SQLite, every 4×PollInterval on PostgreSQL (where
	// notifications come first). Default 250ms.
	PollInterval time.Duration
	// Logger gets the store's warnings (a lost LISTEN connection, failing
	// polls); nil discards them.
	Logger *slog.Logger
}

const (
	defaultPollInterval = 250 * time.Millisecond
	// busyTimeout is how long a SQLite statement waits for another
	// process's write lock before it fails as unavailable.
	busyTimeout = 5 * time.Second
	// notifyChannel is the PostgreSQL channel every write notifies.
	notifyChannel = "mcpgw_changes"
)

// Store is controlplane.Store on SQLite or PostgreSQL.
type Store struct {
	db       *sql.DB
	d        dialect
	name     string // the database, for messages: "postgres 127.0.0.1:5432"
	password string // to redact from driver messages
	aead     cipher.AEAD
	poll     time.Duration
	log      *slog.Logger
	pgConfig *pgx.ConnConfig // PostgreSQL: for the LISTEN connection

	// writes holds SQLite's writes to one at a time within the process
	// (other processes wait in SQLite's busy handler).
	writes chan struct{}

	// ctx ends at Close, stopping the LISTEN loop and Changed's pollers.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	closed     bool
	background sync.WaitGroup
	listening  bool
	subs       map[chan struct{}]struct{} // Changed's wake-ups, poked on NOTIFY
}

var _ controlplane.Store = (*Store)(nil)

// Open opens the store at url, creating or migrating its schema:
// postgres://... or postgresql://... for PostgreSQL; sqlite:<path>,
// file:<path> or a path ending in .db, .sqlite or .sqlite3 for SQLite
// (the file and its directory are created when missing).
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(opts.EncryptionKey)
	if err != nil {
		return nil, err
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		d:    t.dialect,
		name: t.name,
		aead: aead,
		poll: opts.PollInterval,
		log:  opts.Logger.With("store", t.name),
		subs: map[chan struct{}]struct{}{},
	}
	if t.dialect == postgresDialect {
		cfg, err := pgx.ParseConfig(t.url)
		if err != nil {
			// pgx's message shows the URL with its password redacted.
			return nil, fmt.Errorf("store URL %s: %w", RedactURL(url), err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 10 * time.Second
		}
		s.password = cfg.Password
		s.pgConfig = cfg
	} else {
		s.writes = make(chan struct{}, 1)
	}
	s.db, err = openDB(ctx, t, s.pgConfig)
	if err != nil {
		if err := s.unavailable(err); errors.Is(err, controlplane.ErrUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	step, err := "connecting", s.db.PingContext(ctx)
	if err == nil {
		step, err = "migrating the schema", migrate(ctx, s.db, s.d, 0)
	}
	if err != nil {
		s.cancel()
		s.db.Close()
		if errors.Is(err, ErrSchemaTooNew) {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		if err := s.unavailable(err); errors.Is(err, controlplane.ErrUnavailable) {
			return nil, err
		}
		return nil, &redactedError{msg: fmt.Sprintf("%s: %s: %s", s.name, step, s.redact(err.Error())), err: err}
	}
	return s, nil
}

// openDB opens the database/sql handle: pgx's stdlib adapter for
// PostgreSQL (cfg), modernc.org/sqlite for SQLite.
func openDB(ctx context.Context, t target, cfg *pgx.ConnConfig) (*sql.DB, error) {
	if t.dialect == postgresDialect {
		db := stdlib.OpenDB(*cfg.Copy())
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(4)
		db.SetConnMaxIdleTime(5 * time.Minute)
		return db, nil
	}
	if err := createFile(t.path); err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	// BEGIN IMMEDIATE for every transaction: each one here writes, and
	// taking the write lock up front is what lets busy_timeout wait for it
	// (a deferred transaction that later needs it fails at once in WAL).
	dsn := "file:" + t.path + "?_txlock=immediate&_busy_timeout=" + strconv.Itoa(int(busyTimeout.Milliseconds())) +
		"&_foreign_keys=1&_synchronous=NORMAL"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.name, err)
	}
	db.SetMaxOpenConns(8)
	if err := walMode(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// walMode puts the database in WAL mode (readers and a writer at once),
// which the file keeps. Switching fails at once with "database is locked"
// rather than waiting in the busy handler while another process has the
// file open (replicas starting together on a new file), so it retries for
// as long as the busy timeout.
func walMode(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		if err == nil && !strings.EqualFold(mode, "wal") {
			err = fmt.Errorf("journal mode is %s, not WAL", mode)
		}
		if err == nil || !isUnavailable(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10+rand.IntN(40)) * time.Millisecond):
		}
	}
}

// createFile makes the SQLite file (owner-only: it holds key digests and
// sealed secrets) and its directory when missing.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// Close stops the background work and closes the database. Changed's
// channels close.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.background.Wait()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.fail(s.db.PingContext(ctx))
}

// fail maps a database error to the contract's: ErrUnavailable for the
// connection-level ones, the rest as they are.
func (s *Store) fail(err error) error {
	if err == nil {
		return nil
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("%w: %s: the store is closed", controlplane.ErrUnavailable, s.name)
	}
	return s.unavailable(err)
}

const objectColumns = "id, name, version, doc, secret, created_at, updated_at, created_by, updated_by"

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

func (s *Store) scanObject(kind controlplane.Kind, r scanner) (controlplane.Object, error) {
	var (
		o                    controlplane.Object
		name, secret         sql.NullString
		doc                  []byte
		createdAt, updatedAt dbTime
	)
	if err := r.Scan(&o.ID, &name, &o.Version, &doc, &secret, &createdAt, &updatedAt, &o.CreatedBy, &o.UpdatedBy); err != nil {
		return o, err
	}
	o.Kind, o.Name, o.Doc = kind, name.String, doc
	o.CreatedAt, o.UpdatedAt = createdAt.Time, updatedAt.Time
	if secret.Valid {
		plain, err := s.open(kind, o.ID, secret.String)
		if err != nil {
			return o, err
		}
		o.Secret = plain
	}
	return o, nil
}

// List returns every object of kind, ordered by ID.
func (s *Store) List(ctx context.Context, kind controlplane.Kind) ([]controlplane.Object, error) {
	tbl, err := table(kind)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+objectColumns+" FROM "+tbl+" ORDER BY id")
	if err != nil {
		return nil, s.fail(err)
	}
	defer rows.Close()
	var out []controlplane.Object
	for rows.Next() {
		o, err := s.scanObject(kind, rows)
		if err != nil {
			return nil, s.fail(err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err)
	}
	return out, nil
}

// Get returns one object, or ErrNotFound.
func (s *Store) Get(ctx context.Context, kind controlplane.Kind, id string) (controlplane.Object, error) {
	tbl, err := table(kind)
	if err != nil {
		return controlplane.Object{}, err
	}
	o, err := s.scanObject(kind, s.db.QueryRowContext(ctx, s.d.q("SELECT "+objectColumns+" FROM "+tbl+" WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return controlplane.Object{}, fmt.Errorf("%s %q: %w", kind, id, controlplane.ErrNotFound)
	}
	if err != nil {
		return controlplane.Object{}, s.fail(err)
	}
	return o, nil
}

// check validates what a write stores and returns its table.
func check(obj *controlplane.Object) (string, error) {
	tbl, err := table(obj.Kind)
	if err != nil {
		return "", err
	}
	if obj.ID == "" {
		return "", fmt.Errorf("%s: an object needs an id", obj.Kind)
	}
	if len(bytes.TrimSpace(obj.Doc)) == 0 {
		obj.Doc = json.RawMessage("{}")
	}
	if !isJSONObject(obj.Doc) {
		return "", fmt.Errorf("%s %q: doc is not a JSON object", obj.Kind, obj.ID)
	}
	if obj.Secret != nil && !isJSONObject(obj.Secret) {
		return "", fmt.Errorf("%s %q: secret is not a JSON object", obj.Kind, obj.ID)
	}
	return tbl, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// nullName stores an empty name as NULL, so that UNIQUE holds only between
// named objects.
func nullName(name string) sql.NullString {
	return sql.NullString{String: name, Valid: name != ""}
}

// now is the time writes record: UTC, in microseconds (what both
// databases keep), so what a write returns is what a read gives.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// change is what a write did, for the audit log.
type change struct {
	at            time.Time
	actor, action string
	kind          controlplane.Kind
	id            string
	before, after json.RawMessage
}

// write runs fn in a transaction, then bumps the revision, records the
// audit entry and (PostgreSQL) notifies, all in the same transaction. fn
// returning a nil change writes nothing more and commits nothing.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) (*change, error)) error {
	if s.writes != nil {
		select {
		case s.writes <- struct{}{}:
			defer func() { <-s.writes }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err)
	}
	defer tx.Rollback()
	c, err := fn(tx)
	if err != nil || c == nil {
		return s.fail(err)
	}
	var rev int64
	if err := tx.QueryRowContext(ctx, "UPDATE mcpgw_revision SET value = value + 1 WHERE id = 1 RETURNING value").Scan(&rev); err != nil {
		return s.fail(err)
	}
	if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO mcpgw_audit (at, actor, action, kind, object_id, before_doc, after_doc)
VALUES (?, ?, ?, ?, ?, ?, ?)`), s.d.t(c.at), c.actor, c.action, string(c.kind), c.id, nullJSON(c.before), nullJSON(c.after)); err != nil {
		return s.fail(err)
	}
	if s.d == postgresDialect {
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", notifyChannel, strconv.FormatInt(rev, 10)); err != nil {
			return s.fail(err)
		}
	}
	return s.fail(tx.Commit())
}

// nullJSON stores a nil document as NULL.
func nullJSON(doc json.RawMessage) any {
	if doc == nil {
		return nil
	}
	return string(doc)
}

// Create stores obj at version 1 and returns it as stored.
func (s *Store) Create(ctx context.Context, obj controlplane.Object, actor string) (controlplane.Object, error) {
	tbl, err := check(&obj)
	if err != nil {
		return controlplane.Object{}, err
	}
	secret, err := s.seal(obj.Kind, obj.ID, obj.Secret)
	if err != nil {
		return controlplane.Object{}, err
	}
	at := now()
	obj.Version, obj.CreatedAt, obj.UpdatedAt, obj.CreatedBy, obj.UpdatedBy = 1, at, at, actor, actor
	err = s.write(ctx, func(tx *sql.Tx) (*change, error) {
		_, err := tx.ExecContext(ctx, s.d.q("INSERT INTO "+tbl+" ("+objectColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			obj.ID, nullName(obj.Name), obj.Version, string(obj.Doc), secret, s.d.t(at), s.d.t(at), actor, actor)
		if err != nil {
			return nil, conflict(err, obj)
		}
		return &change{at: at, actor: actor, action: "create", kind: obj.Kind, id: obj.ID, after: obj.Doc}, nil
	})
	if err != nil {
		return controlplane.Object{}, err
	}
	return obj, nil
}

// Update replaces obj.ID's Doc, Name and Secret when its stored version is
// obj.Version (else ErrStale), and returns it as stored.
func (s *Store) Update(ctx context.Context, obj controlplane.Object, actor string) (controlplane.Object, error) {
	tbl, err := check(&obj)
	if err != nil {
		return controlplane.Object{}, err
	}
	secret, err := s.seal(obj.Kind, obj.ID, obj.Secret)
	if err != nil {
		return controlplane.Object{}, err
	}
	at := now()
	based := obj.Version
	err = s.write(ctx, func(tx *sql.Tx) (*change, error) {
		var (
			version   int64
			before    []byte
			createdAt dbTime
			createdBy string
		)
		err := tx.QueryRowContext(ctx, s.d.q("SELECT version, doc, created_at, created_by FROM "+tbl+" WHERE id = ?"+s.d.forUpdate()), obj.ID).
			Scan(&version, &before, &createdAt, &createdBy)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s %q: %w", obj.Kind, obj.ID, controlplane.ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		if version != based {
			return nil, fmt.Errorf("%s %q is at version %d, the update was based on %d: %w", obj.Kind, obj.ID, version, based, controlplane.ErrStale)
		}
		obj.Version = version + 1
		obj.CreatedAt, obj.CreatedBy, obj.UpdatedAt, obj.UpdatedBy = createdAt.Time, createdBy, at, actor
		res, err := tx.ExecContext(ctx, s.d.q("UPDATE "+tbl+" SET name = ?, version = ?, doc = ?, secret = ?, updated_at = ?, updated_by = ? WHERE id = ? AND version = ?"),
			nullName(obj.Name), obj.Version, string(obj.Doc), secret, s.d.t(at), actor, obj.ID, version)
		if err != nil {
			return nil, conflict(err, obj)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n != 1 { // cannot happen under the row lock; kept as the contract's check
			return nil, fmt.Errorf("%s %q: %w", obj.Kind, obj.ID, controlplane.ErrStale)
		}
		return &change{at: at, actor: actor, action: "update", kind: obj.Kind, id: obj.ID, before: before, after: obj.Doc}, nil
	})
	if err != nil {
		return controlplane.Object{}, err
	}
	return obj, nil
}

// Delete removes an object; deleting one that is not there is not an
// error (deleted is false and nothing is audited).
func (s *Store) Delete(ctx context.Context, kind controlplane.Kind, id, actor string) (bool, error) {
	tbl, err := table(kind)
	if err != nil {
		return false, err
	}
	deleted := false
	err = s.write(ctx, func(tx *sql.Tx) (*change, error) {
		var before []byte
		err := tx.QueryRowContext(ctx, s.d.q("SELECT doc FROM "+tbl+" WHERE id = ?"+s.d.forUpdate()), id).Scan(&before)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM "+tbl+" WHERE id = ?"), id); err != nil {
			return nil, err
		}
		if kind == controlplane.KindServer {
			if _, err := tx.ExecContext(ctx, s.d.q("DELETE FROM mcpgw_server_health WHERE server_id = ?"), id); err != nil {
				return nil, err
			}
		}
		deleted = true
		return &change{at: now(), actor: actor, action: "delete", kind: kind, id: id, before: before}, nil
	})
	if err != nil {
		return false, err
	}
	return deleted, nil
}

// Audit returns audit entries, newest first.
func (s *Store) Audit(ctx context.Context, q controlplane.AuditQuery) ([]controlplane.AuditEntry, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = 100
	case limit > 1000:
		limit = 1000
	}
	var (
		where []string
		args  []any
	)
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(q.Kind))
	}
	if q.ObjectID != "" {
		where, args = append(where, "object_id = ?"), append(args, q.ObjectID)
	}
	if q.BeforeID > 0 {
		where, args = append(where, "id < ?"), append(args, q.BeforeID)
	}
	query := "SELECT id, at, actor, action, kind, object_id, before_doc, after_doc FROM mcpgw_audit"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.d.q(query), args...)
	if err != nil {
		return nil, s.fail(err)
	}
	defer rows.Close()
	var out []controlplane.AuditEntry
	for rows.Next() {
		var (
			e             controlplane.AuditEntry
			at            dbTime
			kind          string
			before, after []byte
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &kind, &e.ObjectID, &before, &after); err != nil {
			return nil, s.fail(err)
		}
		e.At, e.Kind = at.Time, controlplane.Kind(kind)
		if before != nil {
			e.Before = before
		}
		if after != nil {
			e.After = after
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err)
	}
	return out, nil
}

// SetHealth records a server's health check; it neither bumps the revision
// nor writes an audit entry. serverID may be a config-file server's (no
// stored object needed); deleting a stored server deletes its health.
func (s *Store) SetHealth(ctx context.Context, serverID string, h controlplane.Health) error {
	if serverID == "" {
		return errors.New("health of a server without an id")
	}
	switch h.Status {
	case "healthy", "unhealthy", "unknown":
	default:
		return fmt.Errorf("health status %q: want healthy, unhealthy or unknown", h.Status)
	}
	checked := h.CheckedAt
	if checked.IsZero() {
		checked = now()
	}
	_, err := s.db.ExecContext(ctx, s.d.q(`INSERT INTO mcpgw_server_health (server_id, status, last_health_check, health_check_error)
VALUES (?, ?, ?, ?)
ON CONFLICT (server_id) DO UPDATE SET status = excluded.status,
	last_health_check = excluded.last_health_check, health_check_error = excluded.health_check_error`),
		serverID, h.Status, s.d.t(checked.UTC().Truncate(time.Microsecond)), h.Error)
	return s.fail(err)
}

// Health returns the recorded health of every checked server by ID.
func (s *Store) Health(ctx context.Context) (map[string]controlplane.Health, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT server_id, status, last_health_check, health_check_error FROM mcpgw_server_health")
	if err != nil {
		return nil, s.fail(err)
	}
	defer rows.Close()
	out := map[string]controlplane.Health{}
	for rows.Next() {
		var (
			id string
			h  controlplane.Health
			at dbTime
		)
		if err := rows.Scan(&id, &h.Status, &at, &h.Error); err != nil {
			return nil, s.fail(err)
		}
		h.CheckedAt = at.Time
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err)
	}
	return out, nil
}

// Revision is a number every write increases.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.QueryRowContext(ctx, "SELECT value FROM mcpgw_revision WHERE id = 1").Scan(&rev); err != nil {
		return 0, s.fail(err)
	}
	return rev, nil
}
