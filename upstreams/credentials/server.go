package credentials

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
)

// TokenSource supplies the OAuth2 access token of one server. Token must
// be safe for concurrent use, honour ctx while it waits, and return
// errors that contain no secret (see package tokens).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Invalidate drops the current token (the server answered 401 to
	// it): the next Token fetches a new one.
	Invalidate()
}

// ErrNoTokenSource is returned when a server authenticates with OAuth2 but
// has no token source: only client_credentials tokens are fetched by the
// gateway, so such a server needs the client to send its credential.
var ErrNoTokenSource = errors.New("no OAuth2 token source (only oauth2_flow client_credentials is fetched by the gateway; send the token in x-mcp-<alias>-authorization)")

// Server is how the gateway authenticates to one upstream server and
// which client headers the server may receive. It is built once from the
// config and shared read-only. Values are secrets: never log them.
type Server struct {
	// Scheme is the server's auth_type. It formats the legacy client
	// credential (x-mcp-auth); SchemeOAuth2 also means the gateway sends
	// the token from Token.
	Scheme Scheme
	// AuthHeader, when set, is the header the server's credential goes
	// in instead of the scheme's own (X-API-Key or Authorization): the
	// static credential, the legacy client credential and the OAuth2
	// token alike (auth_header_name).
	AuthHeader string
	// Auth are the headers auth_type and auth_value derive (see
	// SchemeHeader, AuthHeader); nil when there is no static credential.
	Auth map[string]string
	// Static are the server's static_headers, sent on every request; they
	// win over every other source.
	Static map[string]string
	// Extra are the server's extra_headers: client request headers
	// forwarded to this server, when the client sends them.
	Extra []string
	// Token supplies the OAuth2 client-credentials token when Scheme is
	// SchemeOAuth2. Nil there means the gateway has no token of its own
	// (requests fail closed unless the client sends Authorization).
	Token TokenSource
}

// Header is one header to set. Names are lower-case.
type Header struct {
	Name  string
	Value string
}

// Outbound is what one request to one server carries.
type Outbound struct {
	// Set are the credential headers to set, lower-case names, sorted.
	Set []Header
	// Remove are client request headers that must not reach the server,
	// sorted. They never overlap Set.
	Remove []string
	// Token says the request needs "<TokenHeader>: Bearer <token>" from
	// the server's TokenSource; that header is not in Set, and a client's
	// copy of it is in Remove (fail closed): whoever adds the token must
	// take it out of Remove.
	Token bool
	// TokenHeader is the lower-case header the token goes in
	// ("authorization" unless the server's AuthHeader says otherwise).
	TokenHeader string
	// ClientKey is an opaque, keyed fingerprint of the client-supplied
	// values in Set ("" when Set has none): an upstream session opened
	// with them belongs to those credentials and must not be shared with
	// requests that carry others.
	ClientKey string
}

// Get returns the value Set gives a header (any case), and whether it is
// set.
func (o Outbound) Get(name string) (string, bool) {
	n := strings.ToLower(name)
	for _, h := range o.Set {
		if h.Name == n {
			return h.Value, true
		}
	}
	return "", false
}

// FetchesToken reports whether the gateway fetches the server's OAuth2
// token itself (oauth2_flow client_credentials, Token set): the token,
// not a header the client sends through extra_headers, authenticates
// the gateway's calls to it.
func (s *Server) FetchesToken() bool { return s.Scheme == SchemeOAuth2 && s.Token != nil }

// tokenHeader is the lower-case header the server's OAuth2 token goes in.
func (s *Server) tokenHeader() string {
	if s.AuthHeader != "" {
		return strings.ToLower(s.AuthHeader)
	}
	return "authorization"
}

// Gateway returns what a request the gateway makes on its own (discovery,
// session set-up without a client's credentials) carries: the server's
// credential, or its OAuth2 token, then static_headers, which win.
func (s *Server) Gateway() Outbound {
	return s.outbound(clientCredentials{}, "", nil)
}

// Scheme is how a server's credential is written into a header: LiteLLM's
// auth_type (litellm/types/mcp.py, MCPAuth), for the types that put a
// credential in a header.
type Scheme string

// Schemes. The zero value is none.
const (
	SchemeNone          Scheme = ""
	SchemeAPIKey        Scheme = "api_key"
	SchemeBearer        Scheme = "bearer_token"
	SchemeBasic         Scheme = "basic"
	SchemeAuthorization Scheme = "authorization"
	SchemeToken         Scheme = "token"
	// SchemeOAuth2 sends "Authorization: Bearer <token>", the token
	// coming from the server's TokenSource (or from the client).
	SchemeOAuth2 Scheme = "oauth2"
)

// Header names the schemes write, as LiteLLM spells them.
const (
	HeaderAuthorization = "Authorization"
	HeaderAPIKey        = "X-API-Key"
)

// SchemeHeader returns the header a credential value becomes under
// scheme, following LiteLLM's MCPClient._get_auth_headers
// (litellm/experimental_mcp_client/client.py):
//
//	api_key        X-API-Key: <v>
//	bearer_token   Authorization: Bearer <v>        (a leading "Bearer " in v is dropped)
//	basic          Authorization: Basic <base64(v)>  (v is "user:password"; a value
//	                                                  already written "Basic <base64>"
//	                                                  is used as is)
//	authorization  Authorization: <v>               (v is the whole header value)
//	token          Authorization: token <v>         (a leading "token " in v is dropped)
//	oauth2         Authorization: Bearer <v>        (v is an access token)
//
// Surrounding spaces and tabs are trimmed from v. ok is false for
// SchemeNone, unknown schemes and empty values. The value is a secret.
func SchemeHeader(scheme Scheme, v string) (name, value string, ok bool) {
	v = strings.Trim(v, " \t")
	if v == "" {
		return "", "", false
	}
	switch scheme {
	case SchemeAPIKey:
		return HeaderAPIKey, v, true
	case SchemeBearer, SchemeOAuth2:
		return HeaderAuthorization, "Bearer " + stripScheme(v, "Bearer"), true
	case SchemeBasic:
		return HeaderAuthorization, "Basic " + basicCredentials(v), true
	case SchemeAuthorization:
		return HeaderAuthorization, v, true
	case SchemeToken:
		return HeaderAuthorization, "token " + stripScheme(v, "token"), true
	}
	return "", "", false
}

// stripScheme drops a leading "<scheme> " (any case) from v when a
// credential follows it, so "Bearer abc" does not become "Bearer Bearer abc".
func stripScheme(v, scheme string) string {
	name, rest, found := strings.Cut(strings.TrimLeft(v, " \t"), " ")
	rest = strings.TrimLeft(rest, " \t")
	if found && rest != "" && strings.EqualFold(name, scheme) {
		return rest
	}
	return v
}

// basicCredentials returns the base64 part of a Basic header for v:
// "user:password" is encoded; "Basic <base64>" is kept; "Basic user:pw"
// (not base64) is encoded without the scheme.
func basicCredentials(v string) string {
	creds := stripScheme(v, "Basic")
	if creds == v {
		return base64.StdEncoding.EncodeToString([]byte(v))
	}
	if _, err := base64.StdEncoding.DecodeString(creds); err != nil {
		return base64.StdEncoding.EncodeToString([]byte(creds))
	}
	return creds
}
