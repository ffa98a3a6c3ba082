package config

import (
	"strings"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// AuthHeaders returns the headers sent to the server on every request:
// the one its static auth_type derives from auth_value, then
// static_headers, which win over it (header names compared ignoring
// case). Values are secrets: never log them. It returns nil when there
// are none.
//
// The mapping follows LiteLLM's MCPClient._get_auth_headers (see
// credentials.SchemeHeader):
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
	if cs := s.Credentials(); cs.Scheme != credentials.SchemeOAuth2 {
		for name, v := range cs.Auth {
			h[name] = v
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
