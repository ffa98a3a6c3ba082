package envoy

import (
	"encoding/json"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/upstreams"
)

// baseParams is a valid Params value the tests vary.
func baseParams(t *testing.T) Params {
	return Params{
		ListenPort:     4000,
		ExtProcAddress: "127.0.0.1:9002",
		SidecarAddress: "127.0.0.1:9003",
		Upstreams: []*upstreams.Upstream{
			upstream(t, "github", "https://api.githubcopilot.com/mcp/"),
			upstream(t, "wiki", "http://wiki.internal:8080/mcp"),
		},
	}
}

// parseYAML reads Envoy YAML back into the typed bootstrap the way Envoy
// does: YAML to JSON, then the proto JSON mapping.
func parseYAML(t *testing.T, y []byte) *bootstrapv3.Bootstrap {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		t.Fatalf("rendered YAML does not parse: %v", err)
	}
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("rendered YAML is not a Bootstrap: %v", err)
	}
	return &b
}

func TestRenderRoundTrips(t *testing.T) {
	withTLSAndIPv6 := baseParams(t)
	withTLSAndIPv6.ListenAddress = "::"
	withTLSAndIPv6.Upstreams = append(withTLSAndIPv6.Upstreams, upstream(t, "v6", "https://[2001:db8::1]:8443/mcp"))
	noAdmin := baseParams(t)
	noAdmin.AdminPort = NoAdmin
	noAdmin.Upstreams = nil

	for name, p := range map[string]Params{"base": baseParams(t), "tls and ipv6": withTLSAndIPv6, "no admin": noAdmin} {
		t.Run(name, func(t *testing.T) {
			y, err := Render(p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Bootstrap(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := parseYAML(t, y); !sameConfig(t, got, want) {
				t.Errorf("YAML does not round-trip\nYAML:\n%s", y)
			}
			if !strings.HasPrefix(string(y), "# ") {
				t.Errorf("no header comment")
			}
			if strings.Contains(string(y), "{\"") {
				t.Errorf("YAML still has JSON flow mappings:\n%s", y)
			}
		})
	}
}

// sameConfig compares two configs by their JSON form, which unpacks Any
// fields (proto.Equal compares Any payload bytes, whose map order varies).
func sameConfig(t *testing.T, a, b proto.Message) bool {
	t.Helper()
	ja, err := protojson.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func TestRenderIsStable(t *testing.T) {
	a, err := Render(baseParams(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := Render(baseParams(t))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Fatal("Render output differs between calls")
		}
	}
}
