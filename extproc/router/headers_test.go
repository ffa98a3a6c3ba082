package router

import (
	"strings"
	"testing"
)

func TestOriginPolicy(t *testing.T) {
	r := testRouter(t)
	WithOrigins(OriginPolicy{Allowed: []string{"https://app.example.com"}})(r)
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // non-browser clients send none
		{"http://localhost:6274", true},
		{"http://127.0.0.1:3000", true},
		{"http://[::1]:8080", true},
		{"https://app.example.com", true},
		{"https://app.example.com/", true},
		{"http://evil.example.com", false},
		{"https://app.example.com.evil.net", false},
		{"http://localhost.evil.net", false},
		{"null", false},
		{"file://", false},
	}
	for _, tt := range tests {
		d := r.DecideHeaders(Headers{":path": "/mcp", ":method": "POST", "origin": tt.origin})
		if ok := d.Reply == nil; ok != tt.ok {
			t.Errorf("origin %q: allowed=%v, want %v", tt.origin, ok, tt.ok)
		}
		if !tt.ok && (d.Reply.Status != 403 || strings.Contains(string(d.Reply.Body), "evil")) {
			t.Errorf("origin %q: reply %d %s", tt.origin, d.Reply.Status, d.Reply.Body)
		}
	}
	WithOrigins(OriginPolicy{Allowed: []string{"*"}})(r)
	if d := r.DecideHeaders(Headers{":path": "/mcp", ":method": "POST", "origin": "http://evil.example.com"}); d.Reply != nil {
		t.Error(`"*" did not allow every origin`)
	}
}
