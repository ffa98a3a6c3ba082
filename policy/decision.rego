# decision explains allow: the first denial (by order) that applies. It is
# evaluated only for refusals, so it may take its time.
package mcpgw.authz

import rego.v1

# The answer: {allow, hidden, reason, message}. reason is for logs and may
# name anything; message is shown to the client and must not describe
# servers or tools the caller cannot see. hidden means the refusal is
# "this does not exist for you" (the gateway answers as for an unknown
# name).
decision := {"allow": true, "hidden": false, "reason": "allowed", "message": ""} if allow

decision := object.union(first_denial, {"allow": false}) if not allow

# The denials in order: each is evaluated only when none before it
# applies, so a refusal costs the checks up to its own.
first_denial := d if {
	d := denial_principal
} else := d if {
	d := denial_server_unknown
} else := d if {
	d := denial_server
} else := d if {
	d := denial_server_tool
} else := d if {
	d := denial_key_tool
} else := d if {
	d := denial_params
} else := d if {
	d := [x | some x in custom_denials][0] # the least, as sets are ordered
} else := {"hidden": true, "reason": "no rule allowed the request", "message": hidden_message}

hidden_message := "Access denied"

# denials is every denial that applies (allow holds exactly when it is
# empty; the tests hold the two to that).
denials contains d if d := denial_principal

denials contains d if d := denial_server_unknown

denials contains d if d := denial_server

denials contains d if d := denial_server_tool

denials contains d if d := denial_key_tool

denials contains d if d := denial_params

denials contains d if some d in custom_denials

denial_principal := {
	"hidden": true, "message": hidden_message,
	"reason": "unknown principal (key, team or organization not in the data document)",
} if {
	not known_principal
}

denial_server_unknown := {
	"hidden": true, "message": hidden_message,
	"reason": sprintf("server %s is not configured", [input.server]),
} if {
	not server_known
}

denial_server := {
	"hidden": true, "message": hidden_message,
	"reason": sprintf("server %s is not permitted for key %s", [input.server, input.principal.id]),
} if {
	not server_permitted
}

denial_server_tool := {
	"hidden": true, "message": hidden_message,
	"reason": sprintf("tool %s is hidden by the allowed_tools/disallowed_tools of server %s", [input.tool.name, input.server]),
} if {
	server_permitted
	not server_tool_allowed
}

denial_key_tool := {
	"hidden": true, "message": hidden_message,
	"reason": sprintf("tool %s on server %s is not permitted for key %s", [input.tool.name, input.server, input.principal.id]),
} if {
	server_tool_allowed
	not tool_granted(grant)
}

denial_params := {
	"hidden": false, "message": params_message,
	"reason": sprintf("parameters %v%s are not allowed for tool %s on server %s", [quoted_params, more_params, input.tool.name, input.server]),
} if {
	params_violation
}

custom_denials contains {
	"hidden": false, "reason": sprintf("custom rule: %s", [d]),
	"message": "Access denied by policy",
} if {
	some d in data.mcpgw.custom.deny
	is_string(d)
}

custom_denials contains {
	"hidden": object.get(o, "hidden", false),
	"reason": sprintf("custom rule: %s", [object.get(o, "reason", "denied")]),
	"message": object.get(o, "message", "Access denied by policy"),
} if {
	some d in data.mcpgw.custom.deny
	is_object(d)

	# untyped, so that files whose denials are all strings still compile
	o := json.unmarshal(json.marshal(d))
}

custom_denials contains {
	"hidden": false, "reason": sprintf("custom rule: %v", [d]),
	"message": "Access denied by policy",
} if {
	some d in data.mcpgw.custom.deny
	not is_string(d)
	not is_object(d)
}
