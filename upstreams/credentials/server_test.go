package credentials

import "testing"

func TestSchemeHeader(t *testing.T) {
	tests := []struct {
		scheme      Scheme
		v           string
		name, value string
		ok          bool
	}{
		{SchemeAPIKey, "abc", "X-API-Key", "abc", true},
		{SchemeBearer, "abc", "Authorization", "Bearer abc", true},
		{SchemeBearer, "bearer abc", "Authorization", "Bearer abc", true},
		{SchemeBasic, "user:pass", "Authorization", "Basic dXNlcjpwYXNz", true},
		{SchemeBasic, "Basic dXNlcjpwYXNz", "Authorization", "Basic dXNlcjpwYXNz", true},
		{SchemeAuthorization, "Token x", "Authorization", "Token x", true},
		{SchemeToken, "ghp_x", "Authorization", "token ghp_x", true},
		{SchemeOAuth2, "tok", "Authorization", "Bearer tok", true},
		{SchemeOAuth2, "Bearer tok", "Authorization", "Bearer tok", true},
		{SchemeBearer, " abc\t", "Authorization", "Bearer abc", true},
		{SchemeNone, "abc", "", "", false},
		{SchemeBearer, "", "", "", false},
		{SchemeBearer, "  ", "", "", false},
		{Scheme("aws_sigv4"), "abc", "", "", false},
	}
	for _, tt := range tests {
		name, value, ok := SchemeHeader(tt.scheme, tt.v)
		if name != tt.name || value != tt.value || ok != tt.ok {
			t.Errorf("SchemeHeader(%q, %q) = %q, %q, %v; want %q, %q, %v", tt.scheme, tt.v, name, value, ok, tt.name, tt.value, tt.ok)
		}
	}
}
