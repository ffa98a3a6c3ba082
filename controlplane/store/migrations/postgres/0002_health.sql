-- 0002: what the background checker last found of each server
-- (PostgreSQL). Column names are LiteLLM's (LiteLLM_MCPServerTable).
-- Config-file servers are checked too, so server_id references no table;
-- deleting a stored server deletes its row. Writing one bumps neither the
-- revision nor the audit log.
CREATE TABLE mcpgw_server_health (
	server_id          TEXT PRIMARY KEY,
	status             TEXT NOT NULL CHECK (status IN ('healthy', 'unhealthy', 'unknown')),
	last_health_check  TIMESTAMPTZ NOT NULL,
	health_check_error TEXT NOT NULL
);
