package config

import (
	"cmp"
	"slices"
	"strings"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// OAuth2 flows (oauth2_flow).
const (
	OAuth2ClientCredentials = "client_credentials"
	OAuth2AuthorizationCode = "authorization_code"
)

// Credentials returns how the gateway authenticates to the server and
// which client headers it may receive, for package credentials: the
// auth_type and the header its auth_value derives, static_headers and
// extra_headers. An oauth2 server's token source is attached by the
// gateway when it starts (see TokenGrant). Values are secrets.
func (s *Server) Credentials() credentials.Server {
	c := credentials.Server{Extra: slices.Clone(s.ExtraHeaders)}
	switch s.AuthType {
	case AuthAPIKey, AuthBearerToken, AuthBasic, AuthAuthorization, AuthToken:
		c.Scheme = credentials.Scheme(s.AuthType)
		c.AuthHeader = s.AuthHeaderName
		if name, v, ok := credentials.SchemeHeader(c.Scheme, s.AuthValue); ok {
			if c.AuthHeader != "" {
				name = c.AuthHeader
			}
			c.Auth = map[string]string{name: v}
		}
	case AuthOAuth2:
		c.Scheme = credentials.SchemeOAuth2
		c.AuthHeader = s.AuthHeaderName
	}
	if len(s.StaticHeaders) > 0 {
		c.Static = make(map[string]string, len(s.StaticHeaders))
		for name, v := range s.StaticHeaders {
			c.Static[strings.TrimSpace(name)] = strings.Trim(v, " \t")
		}
	}
	return c
}

// FetchesToken reports whether the gateway fetches the server's OAuth2
// token itself: auth_type oauth2 with oauth2_flow client_credentials.
func (s *Server) FetchesToken() bool {
	return s.AuthType == AuthOAuth2 && s.OAuth2.Flow == OAuth2ClientCredentials
}

// oauth2Keys are the OAuth2 keys of a server entry, in report order.
var oauth2Keys = []string{"oauth2_flow", "client_id", "client_secret", "scopes", "token_url",
	"token_endpoint_auth_method", "authorization_url", "issuer", "registration_url"}

// clientCredentialsKeys are the keys the client_credentials grant uses.
var clientCredentialsKeys = setOf("client_id", "client_secret", "scopes", "token_url", "token_endpoint_auth_method", "oauth2_flow")

// checkOAuth2 checks the OAuth2 keys. With auth_type oauth2 and
// oauth2_flow client_credentials the gateway fetches tokens itself and
// needs token_url, client_id and client_secret; the interactive keys have
// no use there. Any other use of these keys is reported as not supported.
func (p *parser) checkOAuth2(s *Server, src serverSource, path string) {
	if !s.FetchesToken() {
		detail := "used only with auth_type oauth2 and oauth2_flow client_credentials"
		if s.AuthType == AuthOAuth2 && s.OAuth2.Flow == OAuth2AuthorizationCode {
			detail = "the gateway fetches tokens only for oauth2_flow client_credentials; clients may send theirs in x-mcp-<alias>-authorization"
			if s.adapted() {
				detail = "the gateway fetches tokens only for oauth2_flow client_credentials, and client credentials do not reach stdio, sse or OpenAPI servers"
			}
			p.notSupported(src.node("oauth2_flow"), join(path, "oauth2_flow"), detail)
			return
		}
		for _, k := range oauth2Keys {
			if src.given(k) && !src.bad[k] {
				p.notSupported(src.node(k), join(path, k), detail)
			}
		}
		return
	}
	required := map[string]string{"token_url": s.OAuth2.TokenURL, "client_id": s.OAuth2.ClientID, "client_secret": s.OAuth2.ClientSecret}
	for _, k := range []string{"token_url", "client_id", "client_secret"} {
		switch {
		case src.bad[k]:
		case !src.given(k):
			p.errorf(src.node("oauth2_flow"), join(path, k), "is required for oauth2_flow client_credentials")
		case required[k] == "":
			p.errorf(src.node(k), join(path, k), "must not be empty")
		case k == "client_secret" && checkHeaderValue(required[k]) != "":
			p.errorf(src.node(k), join(path, k), "%s", checkHeaderValue(required[k]))
		}
	}
	for _, k := range oauth2Keys {
		if src.given(k) && !clientCredentialsKeys[k] {
			p.ignore(src.node(k), join(path, k), "not used by oauth2_flow client_credentials")
		}
	}
}

// checkForwardedHeaders checks extra_headers and static_headers against
// what package credentials refuses to send: a name it would drop must be
// an error here, never a silent omission.
func (p *parser) checkForwardedHeaders(s *Server, src serverSource, path string, keyHeader string) {
	ep := join(path, "extra_headers")
	for i, name := range s.ExtraHeaders {
		switch {
		case !isToken(name):
			// reported by checkHeaders
		case strings.EqualFold(name, keyHeader):
			p.errorf(src.node("extra_headers"), index(ep, i), "is the gateway key header, which never reaches an upstream")
		case credentials.Reserved(name):
			p.errorf(src.node("extra_headers"), index(ep, i), "cannot be forwarded: the gateway or Envoy manage this header")
		case s.FetchesToken() && strings.EqualFold(name, cmp.Or(s.AuthHeaderName, credentials.HeaderAuthorization)):
			p.ignore(src.node("extra_headers"), index(ep, i), "the gateway sends this server its own OAuth2 token in this header; a client's copy is never forwarded")
		}
	}
	if name := s.AuthHeaderName; name != "" {
		key := "auth_header_name"
		if !src.given(key) {
			key = "upstream_token_header" // LiteLLM's name for it
		}
		ap := join(path, key)
		switch n := src.node(key); {
		case !isToken(name):
			p.errorf(n, ap, "is not a valid HTTP header name")
		case strings.EqualFold(name, keyHeader):
			p.errorf(n, ap, "is the gateway key header, which never reaches an upstream")
		case credentials.Reserved(name):
			p.errorf(n, ap, "cannot carry credentials: the gateway or Envoy manage this header")
		case s.Credentials().Scheme == credentials.SchemeNone:
			p.ignore(n, ap, "has no effect without auth_type")
		}
	}
	hp := join(path, "static_headers")
	for _, name := range sortedKeys(s.StaticHeaders) {
		switch n := keyNode(src.value("static_headers"), name); {
		case !isToken(name) || forbiddenHeaders[strings.ToLower(name)]:
			// reported by checkHeaders
		case strings.EqualFold(name, keyHeader):
			p.errorf(n, join(hp, name), "is the gateway key header, which never reaches an upstream")
		case credentials.Reserved(name):
			p.errorf(n, join(hp, name), "cannot be set in static_headers: the gateway or Envoy manage this header")
		}
	}
}

// checkCredentials runs the credential checks that need the general
// settings: headers the servers forward, the legacy client credential
// header, and aliases that x-mcp-<alias>-<header> could not tell apart.
func (p *parser) checkCredentials(servers []Server, sources []serverSource, g GeneralSettings) {
	if err := credentials.CheckLegacyHeader(g.MCPClientSideAuthHeaderName, g.KeyHeaderName); err != nil {
		p.errorf(nil, "general_settings.mcp_client_side_auth_header_name", "%v", err)
	}
	byLower := map[string]string{}
	for i := range servers {
		s, src := &servers[i], sources[i]
		path := join("mcp_servers", s.Name)
		p.checkForwardedHeaders(s, src, path, g.KeyHeaderName)
		lower := strings.ToLower(s.Alias)
		if other, dup := byLower[lower]; dup && other != s.Alias {
			p.errorf(src.key, path, "alias %q differs from %q only in case; x-mcp-<alias>-<header> could not tell them apart", s.Alias, other)
		}
		byLower[lower] = s.Alias
	}
}
