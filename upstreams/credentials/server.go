package credentials

import (
	"context"
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
