package router

import (
	"slices"
	"testing"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams/credentials"
)

// TestRoutedCallCredentials: a routed call carries exactly its upstream's
// credentials; the gateway key, other servers' credentials and every
// other client header are removed, and nothing is both set and removed.
func TestRoutedCallCredentials(t *testing.T) {
	r := testRouter(t)
	body := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"my_wiki-read-page"}}`
	h := Headers{
		":path": "/mcp", ":method": "POST", "mcp-session-id": "gw-1", "content-type": "application/json",
		"x-litellm-api-key": "sk-gateway", "x-mcp-my_wiki-x-api-key": "wiki-client-key",
		"x-mcp-demo-authorization": "Bearer demo-client", "x-mcp-auth": "legacy", "cookie": "c=1",
		wellknown.RouteHeader: "mcp_upstream_demo", // forged
	}
	d := r.decideBody(h, []byte(body))
	if d.Reply != nil || d.Call == nil {
		t.Fatalf("not routed: %+v", d)
	}
	set := map[string]string{}
	for _, s := range d.SetHeaders {
		if _, dup := set[s.Name]; dup {
			t.Errorf("%s set twice", s.Name)
		}
		set[s.Name] = s.Value
	}
	// The per-server client header turns the legacy one off for my_wiki;
	// the configured bearer stays.
	if set["authorization"] != "Bearer s3cret" || set["x-api-key"] != "wiki-client-key" || set[wellknown.RouteHeader] != "mcp_upstream_my_wiki" {
		t.Errorf("set = %v", set)
	}
	for _, leak := range []string{"x-litellm-api-key", "x-mcp-demo-authorization", "x-mcp-auth", "cookie", "x-mcp-my_wiki-x-api-key"} {
		if !slices.Contains(d.RemoveHeaders, leak) {
			t.Errorf("%s not removed: %v", leak, d.RemoveHeaders)
		}
	}
	for _, rm := range d.RemoveHeaders {
		if _, ok := set[rm]; ok && rm != "mcp-session-id" {
			t.Errorf("%s both set and removed", rm)
		}
		if rm == wellknown.RouteHeader || rm == ":path" {
			t.Errorf("%s removed", rm)
		}
	}
	if d.Call.Credentials.ClientKey == "" || d.Call.Credentials.Token {
		t.Errorf("call credentials = %+v", d.Call.Credentials)
	}
}

func TestRoutedCallNeedsToken(t *testing.T) {
	r := testRouter(t)
	r.upstreams["demo"].Credentials = credentials.Server{Scheme: credentials.SchemeOAuth2}
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"demo-echo"}}`
	d := r.decideBody(Headers{":method": "POST", ":path": "/mcp", "authorization": "Bearer client-own"}, []byte(body))
	if d.Call == nil || !d.Call.Credentials.Token {
		t.Fatalf("an oauth2 upstream's call must ask for its token: %+v", d.Call)
	}
	if _, ok := header(d, "authorization"); ok {
		t.Error("authorization set before the token is known")
	}
	if !slices.Contains(d.RemoveHeaders, "authorization") {
		t.Error("the client's authorization is kept until the token replaces it; want it removed (fail closed)")
	}
}
