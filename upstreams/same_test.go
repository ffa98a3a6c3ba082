package upstreams

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

type tokenSource struct{ _ int }

func (*tokenSource) Token(context.Context) (string, error) { return "t", nil }
func (*tokenSource) Invalidate()                           {}

func TestSameConnection(t *testing.T) {
	tok := &tokenSource{}
	base := func() *Upstream {
		u, _ := url.Parse("http://a.example/mcp")
		return &Upstream{Alias: "a", Transport: TransportHTTP, URL: u, Cluster: "mcp_upstream_a",
			Credentials: credentials.Server{Scheme: credentials.SchemeOAuth2, Static: map[string]string{"X": "1"}, Token: tok},
			Description: "d", AllowedTools: []string{"x"}, Timeout: time.Second}
	}
	stdio := func() *Upstream {
		return &Upstream{Alias: "s", Transport: TransportStdio, Adapter: &Adapter{Kind: AdapterStdio, Command: "srv", Args: []string{"-v"}, Token: tok}}
	}
	for _, tc := range []struct {
		name string
		a, b *Upstream
		want bool
	}{
		{"same values", base(), base(), true},
		{"access settings and timeout differ", base(), func() *Upstream {
			u := base()
			u.Description, u.AllowedTools, u.DisallowedTools, u.AccessGroups, u.Timeout = "", nil, []string{"y"}, []string{"g"}, time.Minute
			return u
		}(), true},
		{"url", base(), func() *Upstream { u := base(); u.URL, _ = url.Parse("http://b.example/mcp"); return u }(), false},
		{"static header", base(), func() *Upstream { u := base(); u.Credentials.Static = map[string]string{"X": "2"}; return u }(), false},
		{"another token source", base(), func() *Upstream { u := base(); u.Credentials.Token = &tokenSource{}; return u }(), false},
		{"alias", base(), func() *Upstream { u := base(); u.Alias = "b"; return u }(), false},
		{"nil", base(), nil, false},
		{"stdio same", stdio(), stdio(), true},
		{"stdio args", stdio(), func() *Upstream { u := stdio(); u.Adapter.Args = []string{"-q"}; return u }(), false},
		{"stdio becomes http", stdio(), func() *Upstream { u := stdio(); u.Adapter = nil; return u }(), false},
	} {
		if got := SameConnection(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: SameConnection = %v, want %v", tc.name, got, tc.want)
		}
	}
}
