// Package admin serves LiteLLM's admin API (/v1/mcp/server, /key/*,
// /team/*, /organization/*, /audit) over a controlplane.Store, so scripts
// written against LiteLLM's proxy work against the gateway.
//
// Bodies are checked by the config file's own parser (configfile.ParseServerJSON
// and friends), so a mistake gets the same message in a file and in a
// request. Objects of the config file are listed with the stored ones and
// are read-only here. Secrets (server credentials, static header values)
// live in Object.Secret and never appear in an answer or a log line; keys
// are minted here, shown once and stored only as their SHA-256.
// docs/admin-api.md is the reference.
package admin
