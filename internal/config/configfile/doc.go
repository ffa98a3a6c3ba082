// Package configfile reads the gateway's YAML config file, which accepts
// LiteLLM's MCP config block as is, into the typed, validated values of
// package config; it also reads the admin API's JSON bodies (a server, a
// key, a team, an organization) as entries of that file, so both are
// checked by the same rules and report alike.
//
// A config file has these top-level sections:
//
//   - mcp_servers: LiteLLM's map of upstream MCP servers, keyed by name.
//   - general_settings: LiteLLM's proxy settings; the MCP ones are typed.
//   - gateway: this gateway's own settings (port, body limit, log level).
//   - litellm_settings: only mcp_aliases is read.
//   - model_list, router_settings and LiteLLM's other sections are
//     accepted and reported in Config.Ignored.
//
// Parse decodes into yaml.Node (so every message has a line), checks every
// key and value, resolves LiteLLM's "os.environ/NAME" references through a
// LookupEnv, and reports every problem it finds at once as a
// config.Problems value. Settings LiteLLM documents but this gateway does
// not act on yet are accepted, type-checked and listed in
// Config.Unsupported. No message ever contains a configured value that
// may be a secret (URLs, headers, auth values, keys).
package configfile
