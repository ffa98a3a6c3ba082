// Package stdio runs local MCP servers as supervised child processes and
// lends out client sessions to them.
//
// A [Server] is one configured stdio server. In shared mode one process
// serves every caller; in per-session mode each caller key (the adapter's
// MCP session id) gets its own process, up to a cap. Processes start when
// first needed (or with the gateway, for an eager shared server), stop
// after an idle timeout, are restarted with backoff after a crash (callers
// get an [*UnavailableError] meanwhile), and are killed with their whole
// process group on shutdown, so no grandchild outlives the gateway.
//
// Children see only the variables given in [Options.Env] plus a minimal
// safe base (PATH, HOME, locale, ...; see [BaseEnvNames]): no gateway
// secret is inherited.
package stdio
