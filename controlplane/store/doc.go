// Package store implements controlplane.Store on SQLite (the embedded
// default, pure Go: modernc.org/sqlite) and PostgreSQL (production:
// github.com/jackc/pgx/v5). One package serves both; the dialect switch is
// small: placeholders, time columns, row locks, LISTEN/NOTIFY and the
// migration lock.
//
// # Opening
//
// Open takes a URL: postgres://... or postgresql://... (LiteLLM's
// DATABASE_URL) for PostgreSQL; sqlite:<path>, file:<path> or a plain path
// ending in .db, .sqlite or .sqlite3 for SQLite. SQLite runs in WAL mode
// with a busy timeout and foreign keys on, and its writes from one process
// go one at a time. Every error that names the database names it without
// its password.
//
// # Schema and migrations
//
// A table per kind (mcpgw_mcp_servers, mcpgw_keys, mcpgw_teams,
// mcpgw_organizations), the health of servers (mcpgw_server_health), the
// audit log (mcpgw_audit) and the one-row revision (mcpgw_revision). The
// prefix keeps them apart from other tables when the database is shared,
// as LiteLLM's DATABASE_URL may be (schema_migrations is a name other
// tools use too).
//
// Migrations are forward-only SQL files embedded per dialect
// (migrations/sqlite, migrations/postgres, numbered alike), applied at Open
// in one transaction each and recorded in mcpgw_schema_migrations. On
// PostgreSQL each takes pg_advisory_xact_lock first, so replicas starting
// together apply each file once; on SQLite each is BEGIN IMMEDIATE. A
// database whose schema is newer than this binary knows is refused
// (ErrSchemaTooNew) rather than written to.
//
// The runner is a hundred lines of this package rather than golang-migrate
// or goose: two dialects and a handful of files, applied by the gateway
// itself at start (no CLI, no down migrations, no out-of-band runs), and
// the concurrency rule (advisory lock inside each migration's transaction)
// is ours to state either way. Those libraries would add a driver layer
// and dependencies for no feature we use.
//
// # Secrets
//
// Object.Secret is stored as "v1:" + base64(nonce | ciphertext), sealed
// with AES-256-GCM under a random 12-byte nonce, with the object's kind and
// id as additional data (a secret copied to another row does not open).
// The 256-bit key is HKDF-SHA256 of Options.EncryptionKey (LiteLLM's
// LITELLM_SALT_KEY or gateway.encryption_key) with the info string
// "mcpgw store secret v1": any non-empty string works, and the key differs
// from whatever else uses the same string. Writing a secret without a key,
// or reading one with another key, is an error that says so and never
// shows the data.
//
// # Changes
//
// Every write bumps the revision in its transaction; on PostgreSQL it also
// runs pg_notify('mcpgw_changes', revision), delivered at commit. Changed
// polls the revision every PollInterval on SQLite; on PostgreSQL it
// listens on a dedicated connection (reconnecting with backoff) and polls
// every 4×PollInterval as well, in case a notification was lost. It also
// fires when reading the revision starts failing and when it works again,
// so that a follower hears of an outage and reads again after it.
package store
