-- 0001: the object tables, the audit log and the revision (SQLite).
--
-- A table per kind. name is NULL when the object has none, so that
-- UNIQUE holds only between named objects. doc is the object's JSON as
-- written (byte for byte); secret is "v1:" + base64(nonce | AES-256-GCM
-- ciphertext), or NULL. Times are UTC text, 2006-01-02T15:04:05.000000Z.

-- MCP servers (/v1/mcp/server)
CREATE TABLE mcpgw_mcp_servers (
	id         TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
	name       TEXT UNIQUE CHECK (name <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	doc        TEXT NOT NULL CHECK (json_valid(doc)),
	secret     TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL
);

-- gateway keys (/key/*); id is the SHA-256 hex digest of the key
CREATE TABLE mcpgw_keys (
	id         TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
	name       TEXT UNIQUE CHECK (name <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	doc        TEXT NOT NULL CHECK (json_valid(doc)),
	secret     TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL
);

-- teams (/team/*)
CREATE TABLE mcpgw_teams (
	id         TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
	name       TEXT UNIQUE CHECK (name <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	doc        TEXT NOT NULL CHECK (json_valid(doc)),
	secret     TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL
);

-- organizations (/organization/*)
CREATE TABLE mcpgw_organizations (
	id         TEXT PRIMARY KEY NOT NULL CHECK (id <> ''),
	name       TEXT UNIQUE CHECK (name <> ''),
	version    INTEGER NOT NULL CHECK (version >= 1),
	doc        TEXT NOT NULL CHECK (json_valid(doc)),
	secret     TEXT,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL
);

-- One row per admin write; before_doc and after_doc are the object's doc
-- (never its secret), NULL for a create's before and a delete's after.
CREATE TABLE mcpgw_audit (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	at         TEXT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
	kind       TEXT NOT NULL,
	object_id  TEXT NOT NULL,
	before_doc TEXT,
	after_doc  TEXT
);
CREATE INDEX mcpgw_audit_object ON mcpgw_audit (kind, object_id, id);

-- The store's revision: one row, bumped by every write in the write's
-- transaction.
CREATE TABLE mcpgw_revision (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	value INTEGER NOT NULL
);
INSERT INTO mcpgw_revision (id, value) VALUES (1, 0);
