package rpc

import "slices"

// ProtocolVersions are the MCP protocol versions the gateway speaks with
// clients, newest first.
func ProtocolVersions() []string {
	return []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}
}

// KnownProtocolVersion reports whether v is one of ProtocolVersions.
func KnownProtocolVersion(v string) bool { return slices.Contains(ProtocolVersions(), v) }
