# The gateway's default authorization policy. One decision answers every
# question the gateway asks: may this principal see or call this tool
# (prompt, server)? Listing and calling ask the same question, so what a
# client sees is what it can call.
#
# input (see docs/access-control.md):
#   principal     {id, team, org, groups, admin, anonymous}
#   method        JSON-RPC method ("" for the endpoint itself)
#   server        server alias ("" when the question is about no server)
#   kind          "tool", "prompt", "resource" or ""
#   tool          {name, prefixed}: the upstream's name and the listed one
#   arguments     tools/call arguments (absent when listing)
#   argument_keys top-level argument names, in the order sent
#   namespace     {path, single, prefixed, servers | all}
#   headers       the configured request headers (access.input_headers)
#
# data.gateway is built from the config by policy/data.go, shaped for
# lookups: tool names are the upstream's own (an entry written with the
# server's prefix counts for the bare name too, as in LiteLLM), access
# groups are expanded into server sets, and teams[""] and orgs[""] stand
# for "no team" and "no organization".
#
# The gateway evaluates allow on every question and decision only to
# explain a refusal. Each check allow needs has a denial below that holds
# exactly when the check fails, so allow is true exactly when denials is
# empty (the tests hold them to that).
package mcpgw.authz

import rego.v1

default allow := false

# A question about the endpoint, not about a server.
allow if {
	input.server == ""
	input.kind == ""
	known_principal
	not custom_denied
}

# The master key, and everyone on a gateway without keys: every server,
# under the server-level tool rules and allowed_params.
allow if {
	unrestricted
	data.gateway.servers[input.server]
	tool_allowed
	not params_violation
	not custom_denied
}

# A key: its own permissions, its team's and its organization's decide.
allow if {
	known_key
	data.gateway.servers[input.server]
	server_permitted
	tool_allowed
	not params_violation
	not custom_denied
}

unrestricted if input.principal.admin

unrestricted if input.principal.anonymous

known_principal if unrestricted

known_principal if known_key

# The key, its team and its organization are all in the data.
known_key if {
	not unrestricted
	key
	team
	org
}

key := data.gateway.keys[input.principal.id]

team := data.gateway.teams[input.principal.team]

org := data.gateway.orgs[input.principal.org]

is_tool if {
	input.kind == "tool"
	input.tool.name != ""
}

# --- Servers ----------------------------------------------------------
#
# The key's and the team's server lists intersect; a level that sets none
# does not restrict (open); when neither does, a key without access groups
# gets every server only if all_servers_by_default. Access groups granted
# to the key and allow_all_keys servers (extra_servers) add to that. The
# organization is a ceiling over all of it.
#
# object.get(level.listed, server, level.open) reads "listed, or the level
# sets no list".

# A tool, prompt or resource always belongs to a server.
server_known if {
	input.server == ""
	input.kind == ""
}

server_known if data.gateway.servers[input.server]

server_permitted if input.server == ""

server_permitted if unrestricted

# (Rules read key, team and org into locals once: each reference to a rule
# costs a cache lookup, a local costs almost nothing.)
server_permitted if {
	key_reaches
	o := org
	object.get(o.listed, input.server, o.open)
}

key_reaches if {
	k := key
	t := team
	s := input.server
	object.get(k.listed, s, k.open)
	object.get(t.listed, s, t.open)
	not no_list_applies
}

key_reaches if key.extra_servers[input.server]

no_list_applies if {
	k := key
	k.open
	team.open
	not k.default_all
}

# --- Tools ------------------------------------------------------------
#
# Server-level allowed_tools (which win when set: disallowed_tools is then
# empty in the data) and disallowed_tools apply to everyone, the master key
# included. Key and team tool permissions (mcp_tool_permissions) for a
# server intersect; a level without an entry for the server does not
# restrict (tools_open). The organization's entry is a ceiling.
# mcp_disallowed_tools at any level removes tools. Tool permissions never
# grant a server. All of it is about tools only.

tool_allowed if not is_tool

tool_allowed if {
	is_tool
	server_tool_allowed
	key_tool_allowed
}

server_tool_allowed if not is_tool

server_tool_allowed if {
	srv := data.gateway.servers[input.server]
	n := input.tool.name
	object.get(srv.allowed_tools, n, srv.tools_open)
	not srv.disallowed_tools[n]
}

key_tool_allowed if not is_tool

key_tool_allowed if unrestricted

key_tool_allowed if {
	not unrestricted
	k := key
	t := team
	o := org
	s := input.server
	n := input.tool.name
	object.get(k.tools, [s, n], object.get(k.tools_open, s, true))
	object.get(t.tools, [s, n], object.get(t.tools_open, s, true))
	object.get(o.tools, [s, n], object.get(o.tools_open, s, true))
	not k.deny_tools[s][n]
	not t.deny_tools[s][n]
	not o.deny_tools[s][n]
}

# --- Custom rules -----------------------------------------------------
#
# Policy files in access.policy_dir add denials in package mcpgw.custom:
#   deny contains "reason" if { ... }
#   deny contains {"reason": "...", "message": "shown to the client"} if { ... }
# They can only take access away.

custom_denied if {
	some _ in data.mcpgw.custom.deny
}
