package mcpgw.custom_test

import rego.v1

import data.mcpgw.custom

send(team, args) := {
	"method": "tools/call",
	"principal": {"id": "k", "team": team, "org": "", "groups": [], "admin": false, "anonymous": false},
	"tool": {"name": "send_email", "prefixed": "mail-send_email"},
	"arguments": args,
}

denials(args, team) := ds if {
	ds := custom.deny with input as send(team, args)
}

test_company_recipients_pass if {
	count(denials({"message": {"to": ["a@example.com"], "cc": ["b@Example.ORG"]}}, "sales")) == 0
}

test_outside_recipient_is_denied if {
	ds := denials({"message": {"to": ["a@example.com"], "bcc": ["spy@evil.test"]}}, "sales")
	{d.message | some d in ds} == {"send_email may only write to addresses in the company's domains"}
	{d.reason | some d in ds} == {"send_email: recipient outside the allowed domains: spy@evil.test"}
}

test_malformed_recipient_is_denied if {
	ds := denials({"message": {"to": ["not-an-address"]}}, "sales")
	{d.message | some d in ds} == {"send_email: every recipient must be an email address"}
}

test_contractors_may_not_attach if {
	args := {"message": {"to": ["a@example.com"]}, "attachments": [{"name": "x.pdf", "size": 10}]}
	count(denials(args, "sales")) == 0
	{d.message | some d in denials(args, "contractors")} == {"send_email: this key may not send attachments"}
}

test_large_attachments_are_denied if {
	args := {"message": {"to": ["a@example.com"]}, "attachments": [{"name": "big.iso", "size": 20971520}]}
	{d.message | some d in denials(args, "sales")} == {"send_email: attachments are limited to 10 MB"}
}
