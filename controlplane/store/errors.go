package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mcpgw/mcpgw/controlplane"
)

// ErrSchemaTooNew: the database was migrated by a newer mcpgw than this
// one; it is not written to.
var ErrSchemaTooNew = errors.New("the database schema is newer than this mcpgw knows")

// unavailableError is ErrUnavailable with the store's name and the cause
// in a few words: "store unavailable: postgres 127.0.0.1:25432: connection
// refused". errors.Is finds ErrUnavailable and the cause's chain.
type unavailableError struct {
	msg   string
	cause error
}

func (e *unavailableError) Error() string   { return e.msg }
func (e *unavailableError) Unwrap() []error { return []error{controlplane.ErrUnavailable, e.cause} }

// redactedError is err with a message that went through Store.redact.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// unavailable wraps err as ErrUnavailable when it says the database cannot
// be reached (or is too busy to answer), and returns it unchanged if not.
func (s *Store) unavailable(err error) error {
	if err == nil || !isUnavailable(err) {
		return err
	}
	var ue *unavailableError
	if errors.As(err, &ue) {
		return err
	}
	return &unavailableError{
		msg:   fmt.Sprintf("%s: %s: %s", controlplane.ErrUnavailable, s.name, s.cause(err)),
		cause: err,
	}
}

// isUnavailable reports whether err is about reaching the database rather
// than about the request: connections refused, reset, timed out, closed;
// a server shutting down or out of connections; and SQLite's "database is
// locked" after the busy timeout (another writer held it for that long: a
// retry later can succeed, like a 503's).
func isUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, context.Canceled) {
		return false // the caller went away
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, starting
			pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_PROTOCOL:
			return true
		}
		return false
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
			syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
			return true
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	if pgconn.Timeout(err) {
		return true
	}
	// database/sql's own, which it does not export.
	return strings.Contains(err.Error(), "sql: database is closed")
}

// cause says in a few words why the database is unavailable.
func (s *Store) cause(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Message + " (SQLSTATE " + pgErr.Code + ")"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		if c := sqliteErr.Code() & 0xff; c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED {
			return "database is locked by another writer"
		}
		return sqliteErr.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer before the deadline"
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return "timeout"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by the server"
	}
	return s.redact(err.Error())
}

// redact removes the password from a message that might hold the URL.
func (s *Store) redact(msg string) string {
	if s.password != "" && len(s.password) >= 4 {
		msg = strings.ReplaceAll(msg, s.password, "xxxxx")
	}
	return userinfo.ReplaceAllString(msg, "://xxxxx@")
}

// constraint tells which uniqueness a failed statement broke:
// "id", "name" or "" for neither.
func constraint(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			if strings.HasSuffix(pgErr.ConstraintName, "_name_key") {
				return "name"
			}
			return "id"
		}
		return ""
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return "id"
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			// "UNIQUE constraint failed: mcpgw_teams.name"
			if strings.Contains(sqliteErr.Error(), ".name") {
				return "name"
			}
			return "id"
		}
	}
	return ""
}

// conflict turns a broken uniqueness into ErrConflict naming what clashed.
func conflict(err error, obj controlplane.Object) error {
	switch constraint(err) {
	case "name":
		return fmt.Errorf("%s named %q: %w", obj.Kind, obj.Name, controlplane.ErrConflict)
	case "id":
		return fmt.Errorf("%s %q: %w", obj.Kind, obj.ID, controlplane.ErrConflict)
	}
	return err
}
