package identity

import "strings"

// DefaultHeader is the request header that carries the gateway key, as in
// LiteLLM (x-litellm-api-key). general_settings.litellm_key_header_name
// changes it.
const DefaultHeader = "x-litellm-api-key"

// AuthorizationHeader is the header LiteLLM falls back to for a key.
const AuthorizationHeader = "authorization"

// KeySource says which request header carries the gateway key. Routing
// (package credentials, which must never forward the key) and
// authentication read it through For, so they cannot disagree.
type KeySource struct {
	// Header is the key header, lower-case: x-litellm-api-key, or
	// general_settings.litellm_key_header_name. "" means DefaultHeader.
	Header string
	// AuthorizationFallback (access.key_from_authorization) reads the key
	// from Authorization when Header is absent or blank, as LiteLLM does.
	// Off by default: Authorization is then the client's own credential.
	AuthorizationFallback bool
}

// For returns the lower-case name of the header that carries the key of
// the request whose headers header looks up by lower-case name: Header,
// or Authorization when the fallback applies (Header blank, Authorization
// not).
func (s KeySource) For(header func(name string) string) string {
	primary := strings.ToLower(s.Header)
	if primary == "" {
		primary = DefaultHeader
	}
	if !s.AuthorizationFallback || primary == AuthorizationHeader || header == nil {
		return primary
	}
	if strings.Trim(header(primary), " \t") == "" && strings.Trim(header(AuthorizationHeader), " \t") != "" {
		return AuthorizationHeader
	}
	return primary
}

// MaxKeyLength bounds a key as sent; longer values are refused before
// they are hashed.
const MaxKeyLength = 1024

// KeyFromHeader extracts the key from a header value. The value may carry
// the key alone or as "Bearer <key>" (scheme case-insensitive), as LiteLLM
// accepts; surrounding spaces and tabs are ignored. ok is false when no key
// is present or the value cannot be a key (control characters, spaces
// inside the key, over MaxKeyLength bytes). The value is never echoed.
func KeyFromHeader(value string) (key string, ok bool) {
	v := strings.Trim(value, " \t")
	if scheme, rest, found := strings.Cut(v, " "); found && strings.EqualFold(scheme, "Bearer") {
		v = strings.TrimLeft(rest, " \t")
	}
	if v == "" || len(v) > MaxKeyLength {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == 0x7f {
			return "", false
		}
	}
	return v, true
}
