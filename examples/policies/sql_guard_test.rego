package mcpgw.custom_test

import rego.v1

import data.mcpgw.custom

run_query(args) := {"method": "tools/call", "tool": {"name": "run_query", "prefixed": "db-run_query"}, "arguments": args}

test_reads_pass if {
	count(custom.deny) == 0 with input as run_query({"sql": "select * from orders where id = $1", "params": [42]})
}

test_writes_are_denied if {
	some sql in ["DROP TABLE orders", "delete from orders", "update orders set x=1", "select 1; Truncate t"]
	d := custom.deny with input as run_query({"sql": sql})
	{x.reason | some x in d} == {"run_query: a statement that writes"}
}

test_words_inside_names_pass if {
	count(custom.deny) == 0 with input as run_query({"sql": "select updated_at, dropped from orders"})
}

test_secrets_schema_is_denied if {
	d := custom.deny with input as run_query({"sql": "select * from Secrets.keys"})
	{x.message | some x in d} == {"run_query may not read the secrets schema"}
}

test_parameters_must_be_scalars if {
	d := custom.deny with input as run_query({"sql": "select $1", "params": [{"nested": true}]})
	d == {"run_query: a parameter that is neither a string nor a number"}
}

test_listing_shows_run_query if {
	# No arguments when listing: the rules do not apply, the tool shows.
	count(custom.deny) == 0 with input as {"method": "tools/list", "tool": {"name": "run_query"}}
}

test_other_tools_pass if {
	count(custom.deny) == 0 with input as object.union(run_query({"sql": "drop table t"}), {"tool": {"name": "explain"}})
}
