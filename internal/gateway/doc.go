// Package gateway assembles the gateway's processes from a loaded config:
// the ext_proc service, the adapter sidecar, the demo server and the
// Envoy bootstrap. It holds wiring only; every decision lives elsewhere.
package gateway
