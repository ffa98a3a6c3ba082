// Package gateway assembles the gateway's processes from a loaded config:
// the ext_proc service, the adapter sidecar, the demo server and the
// Envoy bootstrap. It holds wiring only; every decision lives elsewhere.
// It is where plain config values (package config, read by package
// configfile) become runtime values (Upstreams), and where the config
// file and the policy directory are watched for changes (Watch).
package gateway
