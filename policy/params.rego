# allowed_params, as in LiteLLM (MCPServerManager.validate_allowed_params):
# a server maps a tool to the only top-level argument names a tools/call
# may send (data: {names, set}; an entry under the prefixed name wins over
# one under the bare name). A tool without an entry takes any arguments.
# The 403 message is LiteLLM's, word for word, with the lists printed as
# Python prints them, but for quoting at most params_quoted of the
# disallowed names and counting the rest (LiteLLM quotes them all, which
# lets one call make an answer, a log line and a cache entry as large as
# its body).
package mcpgw.authz

import rego.v1

params_rule := grant.params[input.tool.name]

params_violation if params_violated(grant)

params_violated(g) if {
	rule := g.params[input.tool.name]
	input.method == "tools/call"
	input.kind == "tool"
	some k in input.argument_keys
	not rule.set[k]
}

# The arguments a call may not send, in the order sent (undefined for a
# tool without an entry).
disallowed_params := [k | some k in input.argument_keys; not rule.set[k]] if {
	rule := params_rule
}

# How many disallowed names a refusal quotes.
params_quoted := 3

quoted_params := array.slice(disallowed_params, 0, params_quoted)

# " and 997 more" when more than params_quoted names are disallowed.
more_params := "" if {
	count(disallowed_params) <= params_quoted
} else := sprintf(" and %d more", [count(disallowed_params) - params_quoted])

params_message := sprintf(
	"Parameters %s%s are not allowed for tool %s. Allowed parameters: %s. Contact proxy admin to allow these parameters.",
	[py_list(quoted_params), more_params, input.tool.name, py_list(params_rule.names)],
)

# py_list renders a list of strings as Python's repr does: ['a', 'b'].
py_list(xs) := concat("", ["[", concat(", ", [py_str(x) | some x in xs]), "]"])

# py_str is Python's repr of a string: single quotes unless the string
# holds a single quote and no double quote.
py_str(s) := concat("", ["\"", py_escape(s), "\""]) if {
	contains(s, "'")
	not contains(s, "\"")
} else := concat("", ["'", replace(py_escape(s), "'", "\\'"), "'"])

py_escape(s) := strings.replace_n(py_escapes, s) if {
	some c, _ in py_escapes
	contains(s, c)
} else := s

py_escapes := {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
