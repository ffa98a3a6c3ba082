package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Kind is the kind of a stored object; each has a table of its own.
type Kind string

// The kinds the admin API writes. Their names are LiteLLM's
// supported_db_objects names where it has one.
const (
	KindServer       Kind = "mcp"          // an MCP server (/v1/mcp/server)
	KindKey          Kind = "key"          // a gateway key (/key/*)
	KindTeam         Kind = "team"         // a team (/team/*)
	KindOrganization Kind = "organization" // an organization (/organization/*)
)

// Kinds lists every kind, in the order a merge applies them.
var Kinds = []Kind{KindOrganization, KindTeam, KindKey, KindServer}

// Object is one stored object. Doc holds its fields as the admin API shows
// them (LiteLLM's field names) and never a secret; Secret holds the
// secret fields (server credentials, static header values) as a JSON
// object, encrypted at rest by the store and never returned by the API.
type Object struct {
	Kind Kind
	// ID is the object's primary key: server_id (a UUID), a key's token
	// (the SHA-256 hex digest of the key), team_id, organization_id.
	ID string
	// Name is unique per kind when not empty: server_name, key_alias,
	// team_alias, organization_alias.
	Name string
	// Version starts at 1 and grows by one per update. An Update must
	// carry the version it was based on (optimistic concurrency).
	Version int64
	Doc     json.RawMessage
	Secret  json.RawMessage // plaintext JSON object, or nil for none

	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string // the writer's key alias
	UpdatedBy string
}

// Health is what the background checker last found of a server.
type Health struct {
	Status    string // "healthy", "unhealthy" or "unknown"
	CheckedAt time.Time
	Error     string // "" when healthy; never a secret
}

// AuditEntry records one admin write.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Actor    string // the writer's key alias
	Action   string // "create", "update" or "delete"
	Kind     Kind
	ObjectID string
	// Before and After are the object's Doc (never its Secret) before and
	// after the write; nil for a create's Before and a delete's After.
	Before json.RawMessage
	After  json.RawMessage
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Kind     Kind   // "" for every kind
	ObjectID string // "" for every object
	Limit    int    // 0 means 100; at most 1000
	BeforeID int64  // entries older than this id (paging); 0 for the newest
}

// Errors every Store returns (wrapped), so the admin API can map them to
// status codes.
var (
	// ErrNotFound: no object of that kind and id (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: another object of the kind has that id or name (409).
	ErrConflict = errors.New("already exists")
	// ErrStale: the object changed since the version the write was based
	// on (409).
	ErrStale = errors.New("changed since it was read")
	// ErrUnavailable: the database cannot be reached (503). The wrapping
	// error's message names the database and the cause, never a password:
	// the admin API answers with it.
	ErrUnavailable = errors.New("store unavailable")
)

// Store keeps objects. Every write is one transaction that also bumps the
// store's revision and records an AuditEntry; a write that returned nil is
// committed. Implementations are safe for concurrent use, also by several
// processes sharing one database.
type Store interface {
	// List returns every object of kind, ordered by ID.
	List(ctx context.Context, kind Kind) ([]Object, error)
	// Get returns one object, or ErrNotFound.
	Get(ctx context.Context, kind Kind, id string) (Object, error)
	// Create stores obj at version 1 and returns it as stored.
	Create(ctx context.Context, obj Object, actor string) (Object, error)
	// Update replaces obj.ID's Doc, Name and Secret when its stored
	// version is obj.Version (else ErrStale), and returns it as stored.
	Update(ctx context.Context, obj Object, actor string) (Object, error)
	// Delete removes an object; deleting one that is not there is not an
	// error (deleted is false and nothing is audited).
	Delete(ctx context.Context, kind Kind, id, actor string) (deleted bool, err error)

	// Audit returns audit entries.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)

	// SetHealth records a server's health check. It neither bumps the
	// revision nor writes an audit entry.
	SetHealth(ctx context.Context, serverID string, h Health) error
	// Health returns the recorded health of every checked server by ID.
	Health(ctx context.Context) (map[string]Health, error)

	// Revision is a number every write increases; equal numbers mean
	// equal contents.
	Revision(ctx context.Context) (int64, error)
	// Changed returns a channel that receives soon after any process
	// writes (PostgreSQL: LISTEN/NOTIFY, with polling as fallback;
	// SQLite: polling), until ctx ends. A receive means "read the
	// revision again", not that it certainly changed; it also comes when
	// the revision cannot be read any more and when it can again.
	Changed(ctx context.Context) <-chan struct{}

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Body is the object's whole body as the admin API took it: Doc with the
// top-level fields of Secret laid over it. It holds secrets: never log
// it or answer with it.
func (o Object) Body() (json.RawMessage, error) {
	if len(o.Secret) == 0 {
		return o.Doc, nil
	}
	var doc, secret map[string]json.RawMessage
	if err := json.Unmarshal(o.Doc, &doc); err != nil {
		return nil, fmt.Errorf("%s %s: doc: %w", o.Kind, o.ID, err)
	}
	if err := json.Unmarshal(o.Secret, &secret); err != nil {
		return nil, fmt.Errorf("%s %s: secret is not a JSON object", o.Kind, o.ID)
	}
	if doc == nil {
		doc = map[string]json.RawMessage{}
	}
	maps.Copy(doc, secret)
	return json.Marshal(doc)
}
