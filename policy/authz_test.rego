package mcpgw.authz_test

import rego.v1

import data.mcpgw.authz

# A data document shaped as data.go builds it (tool names already bare,
# groups already expanded).
gw := {
	"settings": {"all_servers_by_default": false},
	"groups": groups,
	"servers": {
		"github": server([], ["delete_repo"], {}, false),
		"wiki": server(["read", "search"], [], {"read": ["status"], "search": ["q", "it's"]}, false),
		"jira": server([], [], {}, false),
		"public": server([], [], {}, true),
	},
	"keys": {
		"alice": key_level(true, ["github", "wiki"], []),
		"bob": key_level(false, [], []),
		"carol": key_level(false, [], ["docs"]),
		"dave": key_level(true, ["github", "jira"], []),
		"erin": with_tools(key_level(true, ["github"], []), {"github": {"list_issues": true, "get_issue": true}}),
		"frank": with_deny(key_level(true, ["github"], []), {"github": {"list_issues": true}}),
		"gina": object.union(key_level(false, [], []), {"default_all": true}),
	},
	"teams": {
		"": level(false, [], []),
		"eng": level(true, ["github", "wiki"], []),
		"ops": level(true, [], ["dev"]),
		"tooled": with_tools(level(false, [], []), {"github": {"list_issues": true, "create_issue": true}}),
		"open": level(false, [], []),
		"careful": with_deny(level(false, [], []), {"github": {"create_issue": true}}),
	},
	"orgs": {
		"": level(false, [], []),
		"acme": level(true, ["github"], []),
		"initech": level(true, [], ["docs"]),
		"tools_org": with_tools(level(false, [], []), {"github": {"list_issues": true}}),
		"free": level(false, [], []),
		"strict": with_deny(level(false, [], []), {"github": {"get_issue": true}}),
	},
}

groups := {"docs": {"wiki": true}, "dev": {"github": true, "jira": true}}

names(xs) := {x: true | some x in xs}

expand(gs) := {s: true | some g in gs; some s, _ in groups[g]}

server(allowed, disallowed, params, all_keys) := {
	"allowed_tools": names(allowed),
	"disallowed_tools": names(disallowed),
	"tools_open": count(allowed) == 0,
	"allowed_params": {t: {"names": ps, "set": names(ps)} | some t, ps in params},
	"allow_all_keys": all_keys,
}

# A team or organization: its access groups are part of its list.
level(restricts, servers, gs) := {
	"restricts": restricts, "open": not_(restricts),
	"servers": names(servers), "groups": gs,
	"listed": object.union(names(servers), expand(gs)),
	"tools": {}, "tools_open": {}, "deny_tools": {},
}

# A key: its access groups (and allow_all_keys servers) add servers.
key_level(restricts, servers, gs) := object.union(level(restricts, servers, []), {
	"groups": gs,
	"extra_servers": object.union(expand(gs), {"public": true}),
	"default_all": false,
})

with_tools(l, tools) := object.union(l, {"tools": tools, "tools_open": {s: false | some s, _ in tools}})

with_deny(l, deny) := object.union(l, {"deny_tools": deny})

not_(b) := false if b

not_(b) if not b

key(id, team, org) := {"id": id, "team": team, "org": org, "groups": [], "admin": false, "anonymous": false}

admin := {"id": "master_key", "team": "", "org": "", "groups": [], "admin": true, "anonymous": false}

anon := {"id": "", "team": "", "org": "", "groups": [], "admin": false, "anonymous": true}

call(p, server, tool) := {
	"principal": p, "method": "tools/call", "server": server, "kind": "tool",
	"tool": {"name": tool, "prefixed": concat("-", [server, tool])},
	"argument_keys": [],
}

call_args(p, server, tool, args) := object.union(call(p, server, tool), {"argument_keys": args})

list(p, server, tool) := object.union(call(p, server, tool), {"method": "tools/list"})

endpoint(p, server) := {
	"principal": p, "method": "", "server": server, "kind": "",
	"tool": {"name": "", "prefixed": ""}, "argument_keys": [],
}

allowed(req) if {
	authz.decision.allow with input as req with data.gateway as gw
}

decision(req) := d if {
	d := authz.decision with input as req with data.gateway as gw
}

denied_hidden(req) if {
	d := decision(req)
	not d.allow
	d.hidden
	d.message == "Access denied"
}

# --- principals ---

test_anonymous_may_use_every_server if {
	allowed(call(anon, "jira", "x"))
	allowed(endpoint(anon, "wiki"))
}

test_master_key_may_use_every_server if {
	allowed(call(admin, "jira", "anything"))
}

test_unknown_key_is_denied if {
	denied_hidden(call(key("mallory", "", ""), "public", "x"))
	contains(decision(call(key("mallory", "", ""), "public", "x")).reason, "unknown principal")
}

test_unknown_team_or_org_is_denied if {
	denied_hidden(call(key("alice", "nope", ""), "github", "x"))
	denied_hidden(call(key("alice", "", "nope"), "github", "x"))
}

test_unknown_server_is_denied if {
	denied_hidden(call(admin, "nosuch", "x"))
	contains(decision(call(admin, "nosuch", "x")).reason, "not configured")
}

# --- servers ---

test_key_servers if {
	allowed(call(key("alice", "", ""), "github", "x"))
	allowed(call(key("alice", "", ""), "wiki", "read"))
	denied_hidden(call(key("alice", "", ""), "jira", "x"))
	denied_hidden(endpoint(key("alice", "", ""), "jira"))
	contains(decision(call(key("alice", "", ""), "jira", "x")).reason, "server jira is not permitted for key alice")
}

test_key_and_team_lists_intersect if {
	allowed(call(key("dave", "eng", ""), "github", "x"))
	denied_hidden(call(key("dave", "eng", ""), "jira", "x")) # key has it, team does not
	denied_hidden(call(key("dave", "eng", ""), "wiki", "read")) # team has it, key does not
}

test_key_without_servers_inherits_team if {
	allowed(call(key("bob", "eng", ""), "wiki", "read"))
	denied_hidden(call(key("bob", "eng", ""), "jira", "x"))
}

test_team_access_groups_are_the_team_list if {
	allowed(call(key("bob", "ops", ""), "jira", "x"))
	denied_hidden(call(key("bob", "ops", ""), "wiki", "read"))
}

test_no_permissions_sees_nothing if {
	denied_hidden(call(key("bob", "", ""), "github", "x"))
	denied_hidden(call(key("bob", "open", ""), "github", "x"))
}

test_all_servers_by_default if {
	allowed(call(key("gina", "", ""), "jira", "x")) # data.go sets default_all
	denied_hidden(call(key("gina", "eng", ""), "jira", "x")) # a team list still restricts
	denied_hidden(call(key("gina", "", "acme"), "jira", "x")) # and the org is a ceiling
}

test_key_access_groups_add_servers if {
	allowed(call(key("carol", "", ""), "wiki", "read"))
	denied_hidden(call(key("carol", "", ""), "github", "x"))

	# beyond the team's list: grants are additive
	allowed(call(key("carol", "ops", ""), "wiki", "read"))
	allowed(call(key("carol", "ops", ""), "jira", "x"))
}

test_allow_all_keys if {
	allowed(call(key("bob", "", ""), "public", "x"))
	allowed(call(key("alice", "eng", ""), "public", "x"))
}

test_org_is_a_ceiling if {
	allowed(call(key("alice", "eng", "acme"), "github", "x"))
	denied_hidden(call(key("alice", "eng", "acme"), "wiki", "read"))
	denied_hidden(call(key("carol", "", "acme"), "wiki", "read")) # caps group grants
	denied_hidden(call(key("bob", "", "acme"), "public", "x")) # caps allow_all_keys
	allowed(call(key("carol", "", "initech"), "wiki", "read")) # org access group
	allowed(call(key("alice", "", "free"), "wiki", "read")) # an org without a list does not restrict
}

# LiteLLM's org fallback: when neither the key nor its team sets a list,
# the organization's list applies.
test_org_list_applies_when_key_and_team_set_none if {
	allowed(call(key("bob", "", "acme"), "github", "x"))
	allowed(call(key("bob", "open", "acme"), "github", "x")) # a team without a list
	denied_hidden(call(key("bob", "", "acme"), "wiki", "read")) # only the org's list
	denied_hidden(call(key("bob", "", "acme"), "public", "x")) # still a ceiling over allow_all_keys
	allowed(call(key("bob", "", "initech"), "wiki", "read")) # an org list from access groups
	denied_hidden(call(key("bob", "", "free"), "github", "x")) # an org without a list grants nothing
	denied_hidden(call(key("bob", "", ""), "github", "x")) # no org: nothing, as before
	object.keys(grants_of(key("bob", "", "acme"))) == {"github"}
}

test_org_fallback_needs_no_list_below if {
	# the team sets a list: the org is a ceiling only
	denied_hidden(call(key("bob", "ops", "acme"), "jira", "x"))
	allowed(call(key("bob", "ops", "acme"), "github", "x"))

	# the key sets a list: the org is a ceiling only
	denied_hidden(call(key("dave", "", "acme"), "jira", "x"))

	# the key adds access groups: they are capped, nothing is substituted
	denied_hidden(call(key("carol", "", "acme"), "github", "x"))
	denied_hidden(call(key("carol", "", "acme"), "wiki", "read"))
}

# require_key_mcp_access_defined: the team's list is a ceiling, not a
# default; a key without a list of its own inherits none of it.
required := object.union(gw, {"settings": {"all_servers_by_default": false, "require_key_mcp_access_defined": true}})

allowed_required(req) if {
	authz.decision.allow with input as req with data.gateway as required
}

test_require_key_mcp_access_defined if {
	# bob sets no list: eng's servers are not his
	allowed(call(key("bob", "eng", ""), "wiki", "read"))
	not allowed_required(call(key("bob", "eng", ""), "wiki", "read"))

	# a key with its own list still intersects with the team's
	allowed_required(call(key("alice", "eng", ""), "github", "x"))
	not allowed_required(call(key("dave", "eng", ""), "jira", "x"))

	# access groups granted to the key and allow_all_keys still add
	allowed_required(call(key("carol", "ops", ""), "wiki", "read"))
	not allowed_required(call(key("carol", "ops", ""), "jira", "x"))
	allowed_required(call(key("bob", "eng", ""), "public", "x"))

	# no team list: nothing changes, the org fallback included (as LiteLLM)
	allowed_required(call(key("bob", "", "acme"), "github", "x"))
	allowed_required(call(key("alice", "", ""), "wiki", "read"))
}

# allow and the denials agree for the principals of the org fallback and
# of require_key_mcp_access_defined too.
test_allow_matches_denials_org_fallback if {
	every doc in [gw, required] {
		every req in org_fallback_inputs {
			a := authz.allow with input as req with data.gateway as doc
			denials := authz.denials with input as req with data.gateway as doc
			no_denial := count(denials) == 0
			a == no_denial
			gs := authz.grants with input as req with data.gateway as doc
			handed := object.union(req, {"grant": object.get(gs, req.server, false)})
			h := authz.allow with input as handed with data.gateway as doc
			a == h
		}
	}
}

org_fallback_inputs := [r |
	some p in [key("bob", "", "acme"), key("bob", "eng", "initech"), key("bob", "open", "free"), key("carol", "ops", "acme")]
	some s in ["github", "wiki", "jira", "public"]
	some t in ["list_issues", "read", ""]
	r := call(p, s, t)
]

test_master_key_ignores_ceilings if {
	allowed(call(admin, "wiki", "read"))
}

# --- tools ---

test_server_disallowed_tools if {
	denied_hidden(call(admin, "github", "delete_repo"))
	denied_hidden(call(anon, "github", "delete_repo"))
	allowed(call(anon, "github", "create_issue"))
	contains(decision(call(anon, "github", "delete_repo")).reason, "allowed_tools/disallowed_tools")
}

test_server_allowed_tools_win_bare_or_prefixed if {
	allowed(call(anon, "wiki", "read"))
	allowed(call(anon, "wiki", "search"))
	denied_hidden(call(anon, "wiki", "delete"))
}

test_server_filters_are_tools_only if {
	allowed(object.union(call(anon, "github", "delete_repo"), {"kind": "prompt", "method": "prompts/get"}))
}

test_key_tool_permissions if {
	allowed(call(key("erin", "", ""), "github", "list_issues"))
	allowed(call(key("erin", "", ""), "github", "get_issue"))
	denied_hidden(call(key("erin", "", ""), "github", "create_issue"))
	contains(decision(call(key("erin", "", ""), "github", "create_issue")).reason, "not permitted for key erin")
}

test_team_tool_permissions_inherit_and_intersect if {
	allowed(call(key("alice", "tooled", ""), "github", "create_issue"))
	denied_hidden(call(key("alice", "tooled", ""), "github", "get_issue"))
	allowed(call(key("erin", "tooled", ""), "github", "list_issues"))
	denied_hidden(call(key("erin", "tooled", ""), "github", "create_issue")) # team only
	denied_hidden(call(key("erin", "tooled", ""), "github", "get_issue")) # key only
}

test_org_tool_ceiling if {
	allowed(call(key("alice", "", "tools_org"), "github", "list_issues"))
	denied_hidden(call(key("alice", "", "tools_org"), "github", "create_issue"))
}

test_disallowed_tools_per_key if {
	denied_hidden(call(key("frank", "", ""), "github", "list_issues"))
	allowed(call(key("frank", "", ""), "github", "create_issue"))
}

test_disallowed_tools_per_team_and_org if {
	denied_hidden(call(key("alice", "careful", ""), "github", "create_issue"))
	allowed(call(key("alice", "careful", ""), "github", "get_issue"))
	denied_hidden(call(key("alice", "careful", "strict"), "github", "get_issue"))
}

test_tool_permissions_do_not_grant_servers if {
	# erin may list_issues on github only because github is among her servers
	denied_hidden(call(key("bob", "tooled", ""), "wiki", "read"))
}

test_endpoint_questions_skip_tool_rules if {
	allowed(endpoint(key("erin", "", ""), "github"))
}

# --- allowed_params ---

test_allowed_params_message if {
	d := decision(call_args(anon, "wiki", "read", ["status", "limit"]))
	not d.allow
	not d.hidden
	d.message == "Parameters ['limit'] are not allowed for tool read. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."
}

test_allowed_params_keep_argument_order if {
	d := decision(call_args(anon, "wiki", "read", ["z", "status", "a"]))
	d.message == "Parameters ['z', 'a'] are not allowed for tool read. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."
}

test_allowed_params_quote_three_and_count_the_rest if {
	d := decision(call_args(anon, "wiki", "read", ["a", "status", "b", "c", "d", "e"]))
	d.message == "Parameters ['a', 'b', 'c'] and 2 more are not allowed for tool read. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."
	d.reason == `parameters ["a", "b", "c"] and 2 more are not allowed for tool read on server wiki`
}

test_allowed_params_three_are_all_quoted if {
	d := decision(call_args(anon, "wiki", "read", ["a", "b", "c"]))
	d.message == "Parameters ['a', 'b', 'c'] are not allowed for tool read. Allowed parameters: ['status']. Contact proxy admin to allow these parameters."
}

test_allowed_params_python_quotes if {
	d := decision(call_args(anon, "wiki", "search", ["q", "x'y", "a\\b"]))
	d.message == `Parameters ["x'y", 'a\\b'] are not allowed for tool search. Allowed parameters: ['q', "it's"]. Contact proxy admin to allow these parameters.`
}

test_allowed_params_allow_listed_and_unlisted_tools if {
	allowed(call_args(anon, "wiki", "read", ["status"]))
	allowed(call_args(anon, "wiki", "read", []))
	allowed(call_args(anon, "github", "create_issue", ["anything", "goes"]))
}

test_allowed_params_apply_to_the_master_key if {
	not allowed(call_args(admin, "wiki", "read", ["limit"]))
}

test_allowed_params_only_on_calls if {
	allowed(object.union(list(anon, "wiki", "read"), {"argument_keys": ["limit"]}))
}

test_visibility_comes_first if {
	# a key that cannot see the tool learns nothing about its parameters
	d := decision(call_args(key("bob", "", ""), "wiki", "read", ["limit"]))
	d.hidden
	d.message == "Access denied"
}

# --- custom rules ---

test_custom_string_denial if {
	d := authz.decision with input as call(anon, "jira", "x")
		with data.gateway as gw
		with data.mcpgw.custom.deny as {"no jira today"}
	not d.allow
	not d.hidden
	d.reason == "custom rule: no jira today"
	d.message == "Access denied by policy"
}

test_custom_object_denial if {
	d := authz.decision with input as call(anon, "jira", "x")
		with data.gateway as gw
		with data.mcpgw.custom.deny as {{"reason": "r", "message": "m"}}
	d.reason == "custom rule: r"
	d.message == "m"
}

test_custom_other_denial if {
	d := authz.decision with input as call(anon, "jira", "x")
		with data.gateway as gw
		with data.mcpgw.custom.deny as {42}
	d.reason == "custom rule: 42"
}

test_endpoint_questions if {
	allowed(endpoint(key("bob", "", ""), ""))
	allowed(endpoint(anon, ""))
	denied_hidden(endpoint(key("mallory", "", ""), ""))
	denied_hidden(object.union(endpoint(anon, ""), {"kind": "tool"}))
}

test_first_denial_wins if {
	d := authz.decision with input as call_args(key("bob", "", ""), "wiki", "read", ["limit"])
		with data.gateway as gw
		with data.mcpgw.custom.deny as {"x"}
	contains(d.reason, "not permitted")
}

test_allowed_decision_shape if {
	decision(call(anon, "jira", "x")) == {"allow": true, "hidden": false, "reason": "allowed", "message": ""}
}

# allow and decision agree, and decision.allow holds exactly when no
# denial applies, for every question these tests ask.
test_allow_matches_denials if {
	every req in consistency_inputs {
		a := authz.allow with input as req with data.gateway as gw
		d := authz.decision with input as req with data.gateway as gw
		denials := authz.denials with input as req with data.gateway as gw
		no_denial := count(denials) == 0
		a == d.allow
		a == no_denial
	}
}

consistency_inputs := [req |
	some p in [anon, admin, key("alice", "eng", "acme"), key("bob", "", ""), key("carol", "ops", ""), key("erin", "tooled", "tools_org"), key("frank", "careful", "strict"), key("mallory", "", ""), key("alice", "nope", "")]
	some s in ["github", "wiki", "jira", "public", "nosuch", ""]
	some t in ["list_issues", "create_issue", "get_issue", "delete_repo", "read", "search", ""]
	some args in [[], ["status"], ["limit", "status"]]
	some kind in ["tool", "prompt", ""]
	req := object.union(call_args(p, s, t, args), {"kind": kind})
]

# --- grants ---

grants_of(p) := g if {
	g := authz.grants with input as {"principal": p} with data.gateway as gw
}

test_grants_of_a_key if {
	# alice's list and eng's intersect (github, wiki); acme caps it at
	# github, and also caps the allow_all_keys server public
	object.keys(grants_of(key("alice", "eng", "acme"))) == {"github"}
	object.keys(grants_of(key("alice", "", ""))) == {"github", "wiki", "public"}
	object.keys(grants_of(key("bob", "", ""))) == {"public"}
	object.keys(grants_of(key("carol", "ops", ""))) == {"wiki", "github", "jira", "public"}
	grants_of(key("mallory", "", "")) == {}
}

test_grants_of_unrestricted_principals if {
	object.keys(grants_of(admin)) == {"github", "wiki", "jira", "public"}
	object.keys(grants_of(anon)) == {"github", "wiki", "jira", "public"}
}

test_grant_merges_tool_rules if {
	# erin's tools and team tooled's intersect; github's disallowed_tools
	# and frank's mcp_disallowed_tools add up
	g := grants_of(key("erin", "tooled", "")).github
	g.tools_open == false
	g.tools == {"list_issues": true}
	g.deny == {"delete_repo": true}
	grants_of(key("frank", "", "")).github.deny == {"delete_repo": true, "list_issues": true}
	grants_of(key("alice", "", "")).github.tools_open == true
}

test_grant_keeps_server_rules if {
	g := grants_of(admin).wiki
	g.tools_open == false
	g.tools == {"read": true, "search": true}
	g.params.read.names == ["status"]
}

# The gateway hands the grant in (input.grant, false for none) instead of
# letting the policy compute it: both give the same decision.
handed_in(req) := object.union(req, {"grant": object.get(grants_of(req.principal), req.server, false)})

test_handed_in_grant_agrees if {
	every req in consistency_inputs {
		d := authz.decision with input as req with data.gateway as gw
		h := authz.decision with input as handed_in(req) with data.gateway as gw
		d == h
	}
}

test_no_grant_denies if {
	d := authz.decision with input as object.union(call(admin, "jira", "x"), {"grant": false}) with data.gateway as gw
	not d.allow
	d.hidden
}

test_py_list_escapes_like_python if {
	authz.py_list([]) == "[]"
	authz.py_list(["a\nb", "t\tx", "c\\d", "e\rf"]) == `['a\nb', 't\tx', 'c\\d', 'e\rf']`
	authz.py_list(["it's", `say "hi"`, `both ' and "`]) == `["it's", 'say "hi"', 'both \' and "']`
}
