package identity

// Principal is who a request acts as.
type Principal struct {
	// ID names the key in logs and policy: its key_alias, else
	// "sha256:<first 12 hex digits of its digest>"; MasterID for the
	// master key; "" for an anonymous caller.
	ID string
	// Team and Org are the key's team_id and that team's organization_id
	// ("" when the key has none).
	Team, Org string
	// Groups are the access groups granted to the key itself
	// (object_permission.mcp_access_groups).
	Groups []string
	// Admin is set for the master key, which may use every server and tool.
	Admin bool
	// Anonymous is set when no key is configured at all: the gateway is
	// open and every caller is the same anonymous principal.
	Anonymous bool
	// Owner names the credential the principal authenticated with (the
	// key's digest, hex), for binding what it opens (client sessions,
	// upstream sessions) to it; "" for the anonymous principal. Not for
	// logs: ID is.
	Owner string
}

// MasterID is the principal ID of general_settings.master_key.
const MasterID = "master_key"

// Anonymous returns the principal of every request on a gateway that has
// no keys.
func Anonymous() *Principal { return &Principal{Anonymous: true} }
