// Package policy decides what each principal may do on the gateway. The
// decision is written in Rego (authz.rego and params.rego here, plus the
// operator's own files from access.policy_dir) and evaluated with OPA's
// rego package as a query prepared once per config and policy version; the
// data it reads (keys, teams, organizations, access groups, server rules)
// is built from the config. Listing and calling ask the same question
// (Engine.Decide, Engine.Visible), so what a client sees is what it can
// call.
//
// An Engine swaps its prepared state atomically on reload: requests in
// flight finish with the version they started with, and a broken policy
// or config on reload leaves the previous version in place. The engine is
// built from plain config values (package config) and reads no file but
// its .rego policy files; the gateway's wiring watches the config file and
// the policy directory (gateway.Watch) and calls Engine.Reload.
package policy
