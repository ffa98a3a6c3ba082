package credentials

import (
	"encoding/base64"
	"strings"
)

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
