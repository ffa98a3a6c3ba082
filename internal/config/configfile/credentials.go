package configfile

import (
	"cmp"
	"strings"

	"github.com/mcpgw/mcpgw/internal/config"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// oauth2Keys are the OAuth2 keys of a server entry, in report order.
var oauth2Keys = []string{"oauth2_flow", "client_id", "client_secret", "scopes", "token_url",
	"token_endpoint_auth_method", "authorization_url", "issuer", "registration_url"}

// clientCredentialsKeys are the keys the client_credentials grant uses.
var clientCredentialsKeys = setOf("client_id", "client_secret", "scopes", "token_url", "token_endpoint_auth_method", "oauth2_flow")

// checkOAuth2 checks the OAuth2 keys. With auth_type oauth2 and
// oauth2_flow client_credentials the gateway fetches tokens itself and
// needs token_url, client_id and client_secret; the interactive keys have
// no use there. Any other use of these keys is reported as not supported.
func (p *parser) checkOAuth2(s *config.Server, src serverSource, path string) {
	if !s.FetchesToken() {
		detail := "used only with auth_type oauth2 and oauth2_flow client_credentials"
		if s.AuthType == config.AuthOAuth2 && s.OAuth2.Flow == config.OAuth2AuthorizationCode {
			detail = "the gateway fetches tokens only for oauth2_flow client_credentials; clients may send theirs in x-mcp-<alias>-authorization"
			if s.Adapted() {
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
func (p *parser) checkForwardedHeaders(s *config.Server, src serverSource, path string, keyHeader string) {
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
		case !hasAuthScheme(s):
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
func (p *parser) checkCredentials(servers []config.Server, sources []serverSource, g config.GeneralSettings) {
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

// hasAuthScheme reports whether s's auth_type gives the server a
// credential scheme (the static ones and oauth2), the cases in which the
// gateway sends a credential in auth_header_name.
func hasAuthScheme(s *config.Server) bool {
	switch s.AuthType {
	case config.AuthAPIKey, config.AuthBearerToken, config.AuthBasic, config.AuthAuthorization, config.AuthToken, config.AuthOAuth2:
		return true
	}
	return false
}
