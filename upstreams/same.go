package upstreams

import (
	"maps"
	"reflect"
	"slices"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// SameConnection reports whether a and b reach the same server the same
// way: alias, transport, URL, cluster, credentials and adapter settings.
// What only the policy, the listing or Envoy's route reads (description,
// tool filters, access groups, call timeout) is not compared. A gateway
// applying a new set of servers keeps the connections (discovery links,
// upstream sessions, adapters) of the servers for which it holds.
//
// Token sources are compared by identity: one fetched anew would be a new
// source (the gateway keeps a server's source while its OAuth2 settings
// stay the same).
func SameConnection(a, b *Upstream) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Alias != b.Alias || a.Transport != b.Transport || a.Cluster != b.Cluster {
		return false
	}
	if (a.URL == nil) != (b.URL == nil) || (a.URL != nil && a.URL.String() != b.URL.String()) {
		return false
	}
	if !sameCredentials(&a.Credentials, &b.Credentials) {
		return false
	}
	if (a.Adapter == nil) != (b.Adapter == nil) {
		return false
	}
	if a.Adapter == nil {
		return true
	}
	x, y := *a.Adapter, *b.Adapter
	if !sameToken(x.Token, y.Token) {
		return false
	}
	x.Token, y.Token = nil, nil
	return reflect.DeepEqual(x, y)
}

func sameCredentials(a, b *credentials.Server) bool {
	return a.Scheme == b.Scheme && a.AuthHeader == b.AuthHeader && maps.Equal(a.Auth, b.Auth) &&
		maps.Equal(a.Static, b.Static) && slices.Equal(a.Extra, b.Extra) && sameToken(a.Token, b.Token)
}

// sameToken compares token sources by identity (a source that is not
// comparable is never the same as another).
func sameToken(a, b credentials.TokenSource) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}
