package configfile

import "testing"

func TestSuggest(t *testing.T) {
	candidates := []string{"auth_type", "auth_value", "url", "transport", "bearer_token", "warn", "static_headers"}
	tests := []struct{ word, want string }{
		{"auth_typ", ` (did you mean "auth_type"?)`},
		{"Transport", ` (did you mean "transport"?)`},
		{"urll", ` (did you mean "url"?)`},
		{"static_header", ` (did you mean "static_headers"?)`},
		{"bearer", ` (did you mean "bearer_token"?)`},
		{"warning", ` (did you mean "warn"?)`},
		{"auth_", ""},                // prefix of two candidates
		{"authorization_header", ""}, // too far, not a prefix
		{"colour", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.word, candidates); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"auth_typ", "auth_type", 1},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
