# Example: rules over nested arguments, per team.
#
# send_email takes {"message": {"to": [...], "cc": [...], "subject": ...},
# "attachments": [{"name": ..., "size": ...}]}. Every recipient must be in
# an allowed domain, keys of the "contractors" team may not attach files,
# and no attachment may exceed 10 MB. The domains are data here; they
# could as well come from a data file.
package mcpgw.custom

import rego.v1

allowed_email_domains := {"example.com", "example.org"}

max_attachment_bytes := (10 * 1024) * 1024

recipients contains r if {
	some field in ["to", "cc", "bcc"]
	some r in input.arguments.message[field]
}

deny contains {
	"reason": sprintf("send_email: recipient outside the allowed domains: %s", [r]),
	"message": "send_email may only write to addresses in the company's domains",
} if {
	input.tool.name == "send_email"
	some r in recipients
	not allowed_email_domains[lower(split(r, "@")[1])]
}

deny contains {
	"reason": sprintf("send_email: malformed recipient %s", [r]),
	"message": "send_email: every recipient must be an email address",
} if {
	input.tool.name == "send_email"
	some r in recipients
	count(split(r, "@")) != 2
}

deny contains {
	"reason": "send_email: attachments from a contractor key",
	"message": "send_email: this key may not send attachments",
} if {
	input.tool.name == "send_email"
	input.principal.team == "contractors"
	count(input.arguments.attachments) > 0
}

deny contains {
	"reason": "send_email: attachment too large",
	"message": "send_email: attachments are limited to 10 MB",
} if {
	input.tool.name == "send_email"
	some a in input.arguments.attachments
	a.size > max_attachment_bytes
}
