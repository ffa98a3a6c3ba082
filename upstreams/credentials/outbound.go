package credentials

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// Defaults of Settings.
const (
	// DefaultKeyHeader carries the gateway key (LiteLLM's x-litellm-api-key).
	DefaultKeyHeader = "x-litellm-api-key"
	// DefaultLegacyHeader is LiteLLM's deprecated client credential header.
	DefaultLegacyHeader = "x-mcp-auth"
)

// Settings are the gateway-wide inputs of the header computation.
type Settings struct {
	// KeyHeader is the request header that carries the gateway key
	// (general_settings.litellm_key_header_name). It never reaches an
	// upstream, whatever else the config says. "" means DefaultKeyHeader.
	KeyHeader string
	// KeyFromAuthorization (access.key_from_authorization): a request
	// without the key header may carry its key in Authorization
	// (identity.KeySource). Then that request's Authorization is the key:
	// no source sends the client an Authorization of its own.
	KeyFromAuthorization bool
	// LegacyHeader is the deprecated client credential header, sent to
	// every server in scope as that server's auth
	// (general_settings.mcp_client_side_auth_header_name or
	// LITELLM_MCP_CLIENT_SIDE_AUTH_HEADER_NAME). "" means
	// DefaultLegacyHeader.
	LegacyHeader string
}

// Rewriter computes the outbound headers of routed calls. Build it once
// per config with NewRewriter; it is immutable and safe for concurrent use.
type Rewriter struct {
	aliases *Aliases
	key     string // lower-case
	keys    identity.KeySource
	legacy  string // lower-case
	// fingerprint keys ClientKey, so a fingerprint says nothing about the
	// credential outside this process.
	fingerprint []byte
}

// NewRewriter builds a rewriter for the configured server aliases.
func NewRewriter(aliases []string, s Settings) (*Rewriter, error) {
	idx, err := NewAliases(aliases)
	if err != nil {
		return nil, err
	}
	r := &Rewriter{aliases: idx, key: strings.ToLower(s.KeyHeader), legacy: strings.ToLower(s.LegacyHeader)}
	if r.key == "" {
		r.key = DefaultKeyHeader
	}
	if r.legacy == "" {
		r.legacy = DefaultLegacyHeader
	}
	if !IsHeaderName(r.key) {
		return nil, fmt.Errorf("credentials: gateway key header %q is not a header name", s.KeyHeader)
	}
	if err := CheckLegacyHeader(r.legacy, r.key); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	r.keys = identity.KeySource{Header: r.key, AuthorizationFallback: s.KeyFromAuthorization}
	if s.KeyFromAuthorization {
		if err := CheckLegacyHeader(r.legacy, identity.AuthorizationHeader); err != nil {
			return nil, fmt.Errorf("credentials: %w (gateway keys may come in Authorization)", err)
		}
	}
	r.fingerprint = make([]byte, 32)
	rand.Read(r.fingerprint)
	return r, nil
}

// CheckLegacyHeader says why a header cannot carry the legacy client
// credential (mcp_client_side_auth_header_name), given the gateway key
// header, or returns nil.
func CheckLegacyHeader(legacy, keyHeader string) error {
	l := strings.ToLower(legacy)
	switch {
	case !IsHeaderName(l):
		return fmt.Errorf("client credential header %q is not a header name", legacy)
	case l == strings.ToLower(keyHeader):
		return fmt.Errorf("the gateway key and the client credential cannot share header %q", l)
	case passesThrough(l) || envoyOwned(l) || l == HeaderServers || l == HeaderAccessGroups:
		return fmt.Errorf("%q cannot carry client credentials: the gateway or Envoy use it", l)
	}
	return nil
}

// Aliases returns the alias index the rewriter parses client headers with.
func (r *Rewriter) Aliases() *Aliases { return r.aliases }

// clientCredentials are the credentials one client request carries for
// one server, by source.
type clientCredentials struct {
	legacy string            // the legacy header's value
	perSrv map[string]string // x-mcp-<alias>-<header> for this server: header → value
}

// Outbound computes the headers of a routed call from a client to the
// server alias (its configuration srv), given the client's request
// headers with lower-case names. Per header name, the later of these
// sources wins (docs/headers.md):
//
//  1. the server's credential: auth_type/auth_value, or its OAuth2 token
//  2. the legacy client header, written per auth_type; only when the
//     client sent no x-mcp-<alias>-* header for this server, and never to
//     a server without auth_type
//  3. x-mcp-<alias>-<header>
//  4. extra_headers, copied from the client request (but for the token
//     header of a server whose OAuth2 token the gateway fetches)
//  5. static_headers
//
// No source may set a Reserved header or the gateway key header. Every
// client header that is neither an MCP protocol header nor in the small
// passthrough set is removed (the gateway key, every x-mcp-* header,
// cookies, the client's own Authorization, hop-by-hop headers, ...).
func (r *Rewriter) Outbound(alias string, srv *Server, client map[string]string) Outbound {
	var cc clientCredentials
	for name, v := range client {
		if a, h, ok := r.aliases.Parse(name); ok && a == alias && v != "" {
			if cc.perSrv == nil {
				cc.perSrv = map[string]string{}
			}
			cc.perSrv[h] = v
		}
	}
	if len(cc.perSrv) == 0 {
		cc.legacy = client[r.legacy]
	}
	// The header this request's gateway key came in, by identity's rule.
	key := r.keys.For(func(name string) string { return client[name] })
	out := srv.outbound(cc, key, func(name string) string { return client[name] })
	out.ClientKey = r.clientKey(out, srv)
	out.Remove = r.remove(out, client)
	return out
}

// source says where a header value came from.
type source int

const (
	fromServer source = iota
	fromClient
)

// outbound merges the sources (see Rewriter.Outbound). No client source
// may set the gateway key header key. extra reads a client header for
// extra_headers; nil means there is no client.
func (s *Server) outbound(cc clientCredentials, key string, extra func(name string) string) Outbound {
	set := map[string]string{}
	put := func(name, value string, from source) {
		n := strings.ToLower(strings.TrimSpace(name))
		if n == "" || Reserved(n) || value == "" || (from == fromClient && n == key) {
			return
		}
		set[n] = value
	}
	// 1. The server's own credential (or its OAuth2 token, added by the
	// caller unless a later source sets the token's header).
	token := s.Scheme == SchemeOAuth2
	for name, v := range s.Auth {
		put(name, v, fromServer)
	}
	// 2. The legacy client credential, as this server's auth.
	if name, v, ok := SchemeHeader(s.Scheme, cc.legacy); ok {
		if s.AuthHeader != "" {
			name = s.AuthHeader
		}
		put(name, v, fromClient)
	}
	// 3. x-mcp-<alias>-<header>.
	for name, v := range cc.perSrv {
		put(name, v, fromClient)
	}
	// 4. extra_headers; never the token header of a server whose token
	// the gateway fetches: that server is called with its own machine
	// credential, and a client's Authorization is often its gateway key
	// (LiteLLM strips it for client_credentials servers too).
	if extra != nil {
		for _, name := range s.Extra {
			n := strings.ToLower(strings.TrimSpace(name))
			if s.FetchesToken() && n == s.tokenHeader() {
				continue
			}
			put(n, extra(n), fromClient)
		}
	}
	// 5. static_headers.
	for name, v := range s.Static {
		put(name, strings.Trim(v, " \t"), fromServer)
	}
	var out Outbound
	for _, name := range slices.Sorted(maps.Keys(set)) {
		out.Set = append(out.Set, Header{name, set[name]})
	}
	if token {
		out.TokenHeader = s.tokenHeader()
		_, set := set[out.TokenHeader]
		out.Token = !set
	}
	return out
}

// remove lists the client headers that must not reach the server.
func (r *Rewriter) remove(out Outbound, client map[string]string) []string {
	var rm []string
	for name := range client {
		switch {
		case passesThrough(name), envoyOwned(name):
			// MCP's own headers pass (the router rewrites the ones it
			// owns); Envoy refuses to let us remove its own.
		case name == wellknown.RouteHeader:
			// Overwritten by the router; the route removes it once
			// routing has read it.
		default:
			if _, set := out.Get(name); !set {
				rm = append(rm, name)
			}
		}
	}
	slices.Sort(rm)
	return rm
}

// clientKey fingerprints the client-supplied values that made it into
// out, keyed with a per-process secret.
func (r *Rewriter) clientKey(out Outbound, srv *Server) string {
	gw := srv.Gateway()
	mac := hmac.New(sha256.New, r.fingerprint)
	n := 0
	for _, h := range out.Set {
		if v, ok := gw.Get(h.Name); ok && v == h.Value {
			continue // the server's own
		}
		fmt.Fprintf(mac, "%d:%s%d:%s", len(h.Name), h.Name, len(h.Value), h.Value)
		n++
	}
	if n == 0 {
		return ""
	}
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
