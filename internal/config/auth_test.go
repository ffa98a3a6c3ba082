package config

import (
	"maps"
	"testing"
)

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name   string
		server Server
		want   map[string]string
	}{
		{"none", Server{}, nil},
		{"auth_type none ignores auth_value", Server{AuthType: AuthNone, AuthValue: "x"}, nil},
		{"api_key", Server{AuthType: AuthAPIKey, AuthValue: "abc123"}, map[string]string{"X-API-Key": "abc123"}},
		{"bearer_token", Server{AuthType: AuthBearerToken, AuthValue: "abc123"}, map[string]string{"Authorization": "Bearer abc123"}},
		{"bearer_token already prefixed", Server{AuthType: AuthBearerToken, AuthValue: "bearer abc123"}, map[string]string{"Authorization": "Bearer abc123"}},
		{"bearer_token that only starts with the word", Server{AuthType: AuthBearerToken, AuthValue: "Bearerish"}, map[string]string{"Authorization": "Bearer Bearerish"}},
		{"basic encodes user:password", Server{AuthType: AuthBasic, AuthValue: "user:pass"}, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"basic keeps an encoded Basic value", Server{AuthType: AuthBasic, AuthValue: "Basic dXNlcjpwYXNz"}, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"basic encodes a schemed plain pair", Server{AuthType: AuthBasic, AuthValue: "Basic user:pass"}, map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"authorization is verbatim", Server{AuthType: AuthAuthorization, AuthValue: "Token example123"}, map[string]string{"Authorization": "Token example123"}},
		{"token", Server{AuthType: AuthToken, AuthValue: "ghp_x"}, map[string]string{"Authorization": "token ghp_x"}},
		{"token already prefixed", Server{AuthType: AuthToken, AuthValue: "token ghp_x"}, map[string]string{"Authorization": "token ghp_x"}},
		{"oauth2 adds nothing", Server{AuthType: AuthOAuth2, AuthValue: "x"}, nil},
		{
			"static headers are added",
			Server{AuthType: AuthAPIKey, AuthValue: "k", StaticHeaders: map[string]string{"X-Team": "a"}},
			map[string]string{"X-API-Key": "k", "X-Team": "a"},
		},
		{
			"static headers win, ignoring case",
			Server{AuthType: AuthBearerToken, AuthValue: "k", StaticHeaders: map[string]string{"authorization": "Custom v"}},
			map[string]string{"authorization": "Custom v"},
		},
		{
			"values are trimmed",
			Server{AuthType: AuthAPIKey, AuthValue: " k ", StaticHeaders: map[string]string{"X-A": " v\t"}},
			map[string]string{"X-API-Key": "k", "X-A": "v"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.server.AuthHeaders(); !maps.Equal(got, tt.want) {
				t.Errorf("AuthHeaders() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAuthHeadersFromConfig(t *testing.T) {
	src := `mcp_servers:
  basic_example:
    url: https://x.example/mcp
    auth_type: basic
    auth_value: os.environ/BASIC
`
	cfg := mustParse(t, src, map[string]string{"BASIC": "user:pass"})
	want := map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}
	if got := cfg.Servers[0].AuthHeaders(); !maps.Equal(got, want) {
		t.Errorf("AuthHeaders() = %v, want %v", got, want)
	}
}
