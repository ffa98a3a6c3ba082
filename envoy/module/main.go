// Command module is the gateway's Envoy dynamic module: Envoy's fast path
// (docs/architecture.md, "The fast path"), the decision of envoy/fastpath
// run inside Envoy as an HTTP filter. Build it as a shared library:
//
//	go build -buildmode=c-shared -o libmcpgw_fast_path.so ./envoy/module
//
// (make build puts it beside the mcpgw binary, where mcpgw run finds it).
// It needs cgo; without it this package builds to nothing of use.
package main

func main() {}
