package credentials

import (
	"strings"
	"testing"
)

func TestOneCredential(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{
		{"", true},
		{"Bearer abc", true},
		{"Basic dXNlcjpwYXNz", true},
		{"Basic YQ==", true},
		{"token ghp_x", true},
		{"raw-legacy-secret", true},
		{`Digest username="a", realm="r,e\"alm", nonce="n", uri="/", response="x"`, true},
		{"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", true},
		{"Bearer a,Bearer b", false},  // Envoy's join of two Authorization headers
		{"Bearer a, Bearer b", false}, // the ext_proc adapter's join
		{"Bearer a,b", false},
		{"Bearer a,", false},
		{"Bearer a, ", false},
		{",Bearer a", false},
		{"Basic YQ==,Basic Yg==", false},
		{"Bearer a,Negotiate", false},
		{"m1, m2", false},
		{`Digest realm="a", Bearer b`, false},
	} {
		if got := OneCredential(tt.v); got != tt.want {
			t.Errorf("OneCredential(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestRepeatedCredential(t *testing.T) {
	r := mustRewriter(t, Settings{})
	for _, tt := range []struct {
		name   string
		client map[string]string
		want   string
	}{
		{"one of each", map[string]string{"authorization": "Bearer a", "x-litellm-api-key": "sk-1", "x-mcp-auth": "m",
			"x-mcp-gh-authorization": "Bearer g", "accept": "application/json, text/event-stream"}, ""},
		{"two Authorization headers", map[string]string{"authorization": "Bearer a,Bearer b"}, "authorization"},
		{"two gateway keys", map[string]string{"x-litellm-api-key": "sk-1, sk-2"}, "x-litellm-api-key"},
		{"the same gateway key twice", map[string]string{"x-litellm-api-key": "sk-1, sk-1"}, "x-litellm-api-key"},
		{"a gateway key and an empty copy", map[string]string{"x-litellm-api-key": "sk-1, "}, "x-litellm-api-key"},
		{"two legacy credentials", map[string]string{"x-mcp-auth": "m1, m2"}, "x-mcp-auth"},
		{"two per-server credentials", map[string]string{"x-mcp-gh-authorization": "Bearer c, Bearer d"}, "x-mcp-gh-authorization"},
		{"per-server header of an unknown server is not a credential here", map[string]string{"x-mcp-nope-authorization": "a, b"}, ""},
		{"other per-server headers may be lists", map[string]string{"x-mcp-gh-accept-language": "en, fr"}, ""},
		{"the first by name when several", map[string]string{"x-mcp-auth": "a, b", "authorization": "Bearer a,Bearer b"}, "authorization"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.RepeatedCredential(tt.client); got != tt.want {
				t.Errorf("RepeatedCredential = %q, want %q", got, tt.want)
			}
		})
	}
	custom := mustRewriter(t, Settings{KeyHeader: "X-Gateway-Key", LegacyHeader: "X-Client-Cred"})
	if got := custom.RepeatedCredential(map[string]string{"x-gateway-key": "k1,k2"}); got != "x-gateway-key" {
		t.Errorf("configured key header: %q", got)
	}
	if got := custom.RepeatedCredential(map[string]string{"x-client-cred": "a, b", "x-mcp-auth": "c, d"}); got != "x-client-cred" {
		t.Errorf("configured legacy header: %q", got)
	}
}

// FuzzOneCredential: any value is judged without panicking, and two
// credentials joined as Envoy or the adapter join them are never one.
func FuzzOneCredential(f *testing.F) {
	for _, s := range []string{"Bearer a", `Digest a="b,c", d=e`, "Basic YQ==", "x", `"`, `a="\`, ",,,", "a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		OneCredential(v)
		for _, sep := range []string{",", ", "} {
			joined := "Bearer t0k3n" + sep + "Bearer " + strings.ReplaceAll(strings.ReplaceAll(v, ",", ""), `"`, "")
			if OneCredential(joined) {
				t.Fatalf("OneCredential(%q) = true for two credentials", joined)
			}
		}
	})
}
