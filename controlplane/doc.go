// Package controlplane holds the gateway's run-time state that lives in a
// database rather than the config file: MCP servers, keys, teams and
// organizations written through LiteLLM's admin API (store_model_in_db).
//
// The package itself is plain values and the Store contract; package
// controlplane/store implements it on SQLite and PostgreSQL, package
// controlplane/admin serves LiteLLM's admin API on it, and the wiring
// (internal/gateway) merges stored objects with the config file and
// applies the result to every replica and to Envoy (envoy/xds).
package controlplane
