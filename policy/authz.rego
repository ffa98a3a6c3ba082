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
#   grant         the principal's grant on server, handed in by the gateway
#                 (false for none; absent in opa test / opa eval)
#
# namespace, headers and arguments are present only when some module reads
# them.
#
# data.gateway is built from the config by policy/data.go, shaped for
# lookups: tool names are the upstream's own (an entry written with the
# server's prefix counts for the bare name too, as in LiteLLM), access
# groups are expanded into server sets, and teams[""] and orgs[""] stand
# for "no team" and "no organization".
#
# The rules are in two steps, so that a question costs a few lookups:
#
#   grants  what a principal may use: the servers, and on each the tool
#           rules that bind the principal (its own, its team's, its
#           organization's and the server's, merged). It reads only
#           input.principal, input.server and data, so the gateway
#           evaluates grant once per principal, server and policy version
#           and hands it in as input.grant (false when there is none).
#   allow   the question itself: the grant, then the tool, the arguments and
#           custom rules.
#
# Without input.grant (opa test, opa eval) grant is computed here, so both
# ways give the same answers. The gateway evaluates allow on every question
# and decision only to explain a refusal. Each check allow needs has a
# denial in decision.rego that holds exactly when the check fails, so allow
# is true exactly when denials is empty (the tests hold them to that).
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

# A question about a server (and a tool, prompt or resource on it), with
# the principal's grant on it handed in by the gateway ...
allow if {
	g := input.grant
	is_object(g) # false: no grant
	tool_granted(g)
	not params_violated(g)
	not custom_denied
}

# ... or without it (opa test, opa eval): computed here. (With
# input.grant false, grant is undefined and this body fails too.)
allow if {
	not input.grant
	g := grant
	tool_granted(g)
	not params_violated(g)
	not custom_denied
}

# The principal's grant on input.server.
grant := input.grant if {
	is_object(input.grant)
} else := grants[input.server] if {
	not input.grant == false
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

# --- Grants -----------------------------------------------------------
#
# grants[alias] = {tools_open, tools, deny, params}: the principal may use
# the server; a tool on it is usable when it is in tools (or tools_open)
# and not in deny; params is the server's allowed_params.

# The master key, and everyone on a gateway without keys: every server,
# under the server-level tool rules.
grants[s] := merged_tool_rules(srv, s, []) if {
	unrestricted
	srv := data.gateway.servers[s]
}

# A key: its own permissions, its team's and its organization's decide.
# (key, team and org are read into locals once: each reference to a rule
# costs a cache lookup, a local almost nothing.)
grants[s] := merged_tool_rules(srv, s, [k, t, o]) if {
	not unrestricted
	k := key
	t := team
	o := org
	srv := data.gateway.servers[s]
	may_use_server(k, t, o, s)
}

# --- Servers ----------------------------------------------------------
#
# The key's and the team's server lists intersect; a level that sets none
# does not restrict (open); when neither does, a key without access groups
# gets its organization's list when the organization sets one (LiteLLM's
# org fallback), else every server only if all_servers_by_default. With
# require_key_mcp_access_defined a key that sets no list inherits nothing
# from its team's (the team's list is a ceiling only). Access groups
# granted to the key and allow_all_keys servers (extra_servers) add to
# that. The organization is a ceiling over all of it.
#
# object.get(level.listed, server, level.open) reads "listed, or the level
# sets no list".

may_use_server(k, t, o, s) if {
	reaches(k, t, s)
	object.get(o.listed, s, o.open)
}

may_use_server(k, t, o, s) if {
	org_fallback(k, t)
	o.listed[s]
}

reaches(k, _, s) if k.extra_servers[s]

reaches(k, t, s) if {
	object.get(k.listed, s, k.open)
	object.get(t.listed, s, t.open)
	not no_list(k, t)
	not team_ceiling_only(k, t)
}

no_list(k, t) if {
	k.open
	t.open
	not k.default_all
}

# Neither the key nor its team sets a list, and the key adds no access
# groups: its organization's list (when it sets one) applies.
org_fallback(k, t) if {
	k.open
	t.open
	count(k.groups) == 0
}

team_ceiling_only(k, t) if {
	k.open
	t.restricts
	data.gateway.settings.require_key_mcp_access_defined
}

# A tool, prompt or resource always belongs to a server.
server_known if {
	input.server == ""
	input.kind == ""
}

server_known if data.gateway.servers[input.server]

server_permitted if input.server == ""

server_permitted if grant

# --- Tools ------------------------------------------------------------
#
# Server-level allowed_tools (which win when set: disallowed_tools is then
# empty in the data) and disallowed_tools apply to everyone, the master key
# included. Key and team tool permissions (mcp_tool_permissions) for a
# server intersect; a level without an entry for the server does not
# restrict (tools_open). The organization's entry is a ceiling.
# mcp_disallowed_tools at any level removes tools. Tool permissions never
# grant a server. All of it is about tools only.

# merged_tool_rules folds the server's tool rules and those of the given
# levels for server s into one grant: the allow-lists intersect, the
# deny-lists add up.
merged_tool_rules(srv, s, levels) := {
	"tools_open": count(limits) == 0,
	"tools": {n: true | some n, _ in limits[0]; every l in limits { l[n] }},
	"deny": object.union_n(array.concat([srv.disallowed_tools], [l.deny_tools[s] | some l in levels; l.deny_tools[s]])),
	"params": srv.allowed_params,
} if {
	server_limit := [srv.allowed_tools | not srv.tools_open]
	limits := array.concat(server_limit, [l.tools[s] | some l in levels; l.tools[s]])
}

tool_granted(g) if {
	input.kind == "tool"
	n := input.tool.name
	n != ""
	object.get(g.tools, n, g.tools_open)
	not g.deny[n]
} else if not is_tool

# The server-level rules alone, to tell the two refusals apart.
server_tool_allowed if not is_tool

server_tool_allowed if {
	is_tool
	srv := data.gateway.servers[input.server]
	n := input.tool.name
	object.get(srv.allowed_tools, n, srv.tools_open)
	not srv.disallowed_tools[n]
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
