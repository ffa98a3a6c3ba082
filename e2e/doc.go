// Package e2e tests the whole gateway through the real Envoy binary with
// real MCP peers: go-sdk servers upstream, and go-sdk, the Python mcp SDK
// and the TypeScript Inspector CLI as clients.
//
// The tests need ENVOY_BIN (make test sets it). Without it they skip,
// unless MCPGW_REQUIRE_ENVOY=1, when they fail.
package e2e
