# Example: argument-level rules on a database tool.
#
# run_query (on any server) may not run statements that change data or
# schema, and may only read tables outside the "secrets" schema. Copy this
# file into the directory named by access.policy_dir; edits take effect
# without a restart.
package mcpgw.custom

import rego.v1

# Statements that change data or schema, as whole words, any case.
write_pattern := `(?i)\b(drop|delete|truncate|alter|update|insert|grant)\b`

deny contains {
	"reason": "run_query: a statement that writes",
	"message": "run_query may only read: this statement would change data or schema",
} if {
	input.tool.name == "run_query"
	regex.match(write_pattern, input.arguments.sql)
}

deny contains {
	"reason": "run_query: the secrets schema",
	"message": "run_query may not read the secrets schema",
} if {
	input.tool.name == "run_query"
	regex.match(`(?i)\bsecrets\.`, input.arguments.sql)
}

# Parameters passed separately are checked too: every value in
# arguments.params (a list) must be a string or a number.
deny contains "run_query: a parameter that is neither a string nor a number" if {
	input.tool.name == "run_query"
	some p in input.arguments.params
	not is_string(p)
	not is_number(p)
}
