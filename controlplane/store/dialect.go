package store

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mcpgw/mcpgw/controlplane"
)

// dialect is the SQL the two databases differ in.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

// q turns the ? placeholders every query here is written with into
// PostgreSQL's $1, $2, ... (no query here has a ? inside a literal).
func (d dialect) q(query string) string {
	if d != postgresDialect {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// forUpdate locks the selected row until the transaction ends. SQLite
// needs none: BEGIN IMMEDIATE already holds the database's write lock.
func (d dialect) forUpdate() string {
	if d == postgresDialect {
		return " FOR UPDATE"
	}
	return ""
}

// sqliteTime is how times are stored on SQLite: UTC, microseconds, fixed
// width (so text order is time order).
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// t is a time as a query argument.
func (d dialect) t(t time.Time) any {
	if d == postgresDialect {
		return t
	}
	return t.UTC().Format(sqliteTime)
}

// dbTime scans a time column of either dialect.
type dbTime struct{ time.Time }

func (t *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	case nil:
		t.Time = time.Time{}
		return nil
	}
	return fmt.Errorf("time column holds %T", v)
}

func (t *dbTime) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time column: %w", err)
	}
	t.Time = v.UTC()
	return nil
}

// table is the table of a kind's objects.
func table(kind controlplane.Kind) (string, error) {
	switch kind {
	case controlplane.KindServer:
		return "mcpgw_mcp_servers", nil
	case controlplane.KindKey:
		return "mcpgw_keys", nil
	case controlplane.KindTeam:
		return "mcpgw_teams", nil
	case controlplane.KindOrganization:
		return "mcpgw_organizations", nil
	}
	return "", fmt.Errorf("unknown kind %q", kind)
}

// target is a parsed store URL.
type target struct {
	dialect dialect
	path    string // SQLite: the database file
	url     string // PostgreSQL: the URL as given (for pgx)
	// name names the database in messages, without credentials:
	// "sqlite /var/lib/mcpgw/store.db", "postgres 127.0.0.1:5432".
	name string
}

// parseURL tells the dialect and where the database is.
func parseURL(raw string) (target, error) {
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return target{}, fmt.Errorf("store URL %s: cannot parse it", RedactURL(raw))
		}
		host := u.Host
		if host == "" {
			host = "localhost"
		}
		if u.Port() == "" && !strings.HasPrefix(host, "[") && !strings.Contains(host, ",") {
			host = net.JoinHostPort(host, "5432")
		}
		return target{dialect: postgresDialect, url: raw, name: "postgres " + host}, nil
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		_, rest, _ := strings.Cut(raw, ":")
		// sqlite:///abs/path.db and sqlite://rel.db as well as sqlite:path.
		rest = strings.TrimPrefix(rest, "//")
		if strings.ContainsAny(rest, "?#") {
			return target{}, fmt.Errorf("store URL %q: SQLite takes a file path and no parameters", raw)
		}
		return sqliteTarget(raw, rest)
	case strings.Contains(raw, "://"):
		return target{}, fmt.Errorf("store URL %s: unsupported scheme (want postgres://, postgresql://, sqlite:<path> or a path ending in .db)", RedactURL(raw))
	}
	switch strings.ToLower(filepath.Ext(raw)) {
	case ".db", ".sqlite", ".sqlite3":
		return sqliteTarget(raw, raw)
	}
	return target{}, fmt.Errorf("store URL %q: not a database URL (want postgres://, postgresql://, sqlite:<path> or a path ending in .db)", raw)
}

func sqliteTarget(raw, path string) (target, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, ":memory:") {
		return target{}, fmt.Errorf("store URL %q: SQLite needs a file (an in-memory database is not shared between connections or replicas)", raw)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return target{}, fmt.Errorf("store URL %q: %w", raw, err)
	}
	return target{dialect: sqliteDialect, path: abs, name: "sqlite " + abs}, nil
}

// userinfo matches the credentials of a URL that url.Parse refused.
var userinfo = regexp.MustCompile(`://[^/@]*@`)

// RedactURL returns a database URL with its password, if any, replaced
// by "xxxxx": the userinfo's and a password= query parameter's.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return userinfo.ReplaceAllString(raw, "://xxxxx@")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
