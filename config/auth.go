package config

import (
	"encoding/base64"
	"strings"
)

// AuthHeaders returns the headers sent to the server on every request:
// the one its static auth_type derives from auth_value, then
// static_headers, which win over it (header names compared ignoring
// case). Values are secrets: never log them. It returns nil when there
// are none.
//
// The mapping follows LiteLLM's MCPClient._get_auth_headers and its
// helpers strip_auth_scheme and to_basic_credentials in
// litellm/experimental_mcp_client/client.py:
//
//	api_key        X-API-Key: <v>
//	bearer_token   Authorization: Bearer <v>       (a leading "Bearer " in v is dropped)
//	basic          Authorization: Basic <base64(v)> (v is "user:password"; a value
//	                                                 already written "Basic <base64>"
//	                                                 is used as is)
//	authorization  Authorization: <v>              (v is the whole header value)
//	token          Authorization: token <v>        (a leading "token " in v is dropped)
//
// Other auth types (oauth2, aws_sigv4, ...) add no header here. As in
// LiteLLM, surrounding whitespace is trimmed from names and values.
func (s *Server) AuthHeaders() map[string]string {
	h := make(map[string]string)
	if v := s.AuthValue; v != "" {
		switch s.AuthType {
		case AuthAPIKey:
			h["X-API-Key"] = v
		case AuthBearerToken:
			h["Authorization"] = "Bearer " + stripScheme(v, "Bearer")
		case AuthBasic:
			h["Authorization"] = "Basic " + basicCredentials(v)
		case AuthAuthorization:
			h["Authorization"] = v
		case AuthToken:
			h["Authorization"] = "token " + stripScheme(v, "token")
		}
	}
	for name, v := range s.StaticHeaders {
		for old := range h {
			if strings.EqualFold(old, name) {
				delete(h, old)
			}
		}
		h[name] = v
	}
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for name, v := range h {
		out[strings.TrimSpace(name)] = strings.Trim(v, " \t")
	}
	return out
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
