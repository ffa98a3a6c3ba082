package credentials

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ClientHeaderPrefix starts the headers a client addresses to one server:
// x-mcp-<alias>-<header>.
const ClientHeaderPrefix = "x-mcp-"

// Headers that start with ClientHeaderPrefix but select servers; they
// name no server and are never forwarded.
const (
	HeaderServers      = "x-mcp-servers"
	HeaderAccessGroups = "x-mcp-access-groups"
)

// Aliases matches server aliases inside x-mcp-<alias>-<header> names. It
// is the one parser of those names. Build it with NewAliases; it is
// immutable.
type Aliases struct {
	byLower map[string]string // lower-case alias → alias as configured
}

// NewAliases indexes the configured aliases. Header names ignore case, so
// two aliases that differ only in case could not be told apart: that is
// an error.
func NewAliases(aliases []string) (*Aliases, error) {
	a := &Aliases{byLower: make(map[string]string, len(aliases))}
	for _, alias := range aliases {
		lower := strings.ToLower(alias)
		if lower == "" {
			return nil, fmt.Errorf("credentials: empty server alias")
		}
		if prev, dup := a.byLower[lower]; dup {
			return nil, fmt.Errorf("credentials: servers %q and %q differ only in case, so x-mcp-<alias>-<header> cannot tell them apart", prev, alias)
		}
		a.byLower[lower] = alias
	}
	return a, nil
}

// Parse reads a header name of the form x-mcp-<alias>-<header> and
// returns the configured alias and the header to forward to that server
// (lower-case). The alias is matched against the configured aliases,
// ignoring case, and the longest one wins, so aliases containing '-' or
// '_' work: with aliases "git" and "git-hub", x-mcp-git-hub-authorization
// is Authorization for git-hub. ok is false for x-mcp-servers,
// x-mcp-access-groups, names that match no alias and names with no valid
// header name after the alias.
func (a *Aliases) Parse(name string) (alias, header string, ok bool) {
	if len(name) <= len(ClientHeaderPrefix) || !strings.EqualFold(name[:len(ClientHeaderPrefix)], ClientHeaderPrefix) {
		return "", "", false
	}
	lower := strings.ToLower(name)
	if lower == HeaderServers || lower == HeaderAccessGroups {
		return "", "", false
	}
	rest := lower[len(ClientHeaderPrefix):]
	// Every '-' may end the alias; the rightmost one that does gives the
	// longest alias.
	for end := len(rest); end > 0; {
		i := strings.LastIndexByte(rest[:end], '-')
		if i <= 0 {
			break
		}
		if configured, hit := a.byLower[rest[:i]]; hit {
			if h := rest[i+1:]; IsHeaderName(h) {
				return configured, h, true
			}
			return "", "", false
		}
		end = i
	}
	return "", "", false
}

// passthrough are the client request headers that may reach an upstream
// on a routed call: the MCP transport's own headers, content negotiation,
// the user agent, trace context, and what Envoy adds itself (request id,
// forwarded protocol). Everything else a client sends is removed.
var passthrough = map[string]bool{
	"accept":               true,
	"accept-encoding":      true,
	"content-type":         true,
	"content-length":       true,
	"user-agent":           true,
	"mcp-protocol-version": true,
	"mcp-session-id":       true,
	"mcp-method":           true,
	"mcp-name":             true,
	"last-event-id":        true,
	"traceparent":          true,
	"tracestate":           true,
	"x-request-id":         true,
	"x-forwarded-proto":    true,
}

// PassThrough lists the client request headers that reach an upstream on
// a routed call unchanged (and every mcp-param-* header), sorted: Envoy's
// fast path removes every other header as the full path does.
func PassThrough() []string { return slices.Sorted(maps.Keys(passthrough)) }

// passesThrough reports whether a client header may reach an upstream
// unchanged.
func passesThrough(name string) bool {
	return passthrough[name] || strings.HasPrefix(name, "mcp-param-")
}

// envoyOwned reports whether Envoy refuses to let the ext_proc service
// remove the header whatever its mutation rules say (pseudo-headers,
// host): Envoy handles those itself (the route rewrites host to the
// upstream's). x-envoy-* headers are removable because the gateway's
// Envoy config allows it (mutation_rules.allow_envoy).
func envoyOwned(name string) bool {
	return strings.HasPrefix(name, ":") || name == "host"
}

// reserved are header names no credential source may set on an upstream
// request: the gateway, Envoy or HTTP itself manage them.
var reserved = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "accept": true,
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
	"trailer": true, "transfer-encoding": true, "upgrade": true, "expect": true,
	"forwarded": true, "x-request-id": true, "last-event-id": true, "via": true,
}

// Reserved reports whether name (any case) is a header that no
// credential source (static_headers, extra_headers, x-mcp-<alias>-<header>)
// may set, because the gateway, Envoy or HTTP manage it: hop-by-hop and
// framing headers, the MCP protocol headers (mcp-*), the gateway's own
// namespace (x-mcp-*), Envoy's (x-envoy-*) and forwarding headers.
func Reserved(name string) bool {
	n := strings.ToLower(name)
	if !IsHeaderName(n) || reserved[n] {
		return true
	}
	for _, p := range []string{"mcp-", "x-mcp-", "x-envoy-", "x-forwarded-"} {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// IsHeaderName reports whether s is an HTTP header name (an RFC 9110
// token of at most 256 bytes).
func IsHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c != 0 && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
