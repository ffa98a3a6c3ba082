// Package config holds the gateway's configuration as plain data: the
// servers (mcp_servers), keys, teams and organizations (access:),
// LiteLLM's general_settings, the gateway: block and the store settings,
// with the problems found reading them (Problem, Problems).
//
// It imports nothing but the standard library. The config file and the
// admin API's bodies are read into these types by package configfile;
// package gateway (the wiring) turns them into runtime values (upstreams,
// credentials, the access policy's data). CompareForReload, ForReload and
// ForApply compare and merge two configs for a reload.
package config
