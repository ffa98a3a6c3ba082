// Package namespace is the one parser for MCP names the gateway exposes:
// it turns alias-prefixed tool names ("github-create_issue") into the
// server alias and the upstream's own name, and back. Routing and
// authorization both call it, so they can never disagree about which
// server a name belongs to.
package namespace
