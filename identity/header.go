package identity

import "strings"

// DefaultHeader is the request header that carries the gateway key, as in
// LiteLLM (x-litellm-api-key). general_settings.litellm_key_header_name
// changes it.
const DefaultHeader = "x-litellm-api-key"

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
