package envoy

import (
	"os/exec"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
	"github.com/mcpgw/mcpgw/upstreams"
)

// TestRenderedConfigValidatesWithEnvoy runs `envoy --mode validate` on
// rendered configs: the real binary checks what the Go protos cannot
// (extension names, files, cross-field rules).
func TestRenderedConfigValidatesWithEnvoy(t *testing.T) {
	bin := testutil.EnvoyBin(t)
	_, caFile := selfSignedCert(t)
	stdio := &upstreams.Upstream{Alias: "fs", Transport: upstreams.TransportStdio, Cluster: upstreams.ClusterName("fs")}
	sse := upstream(t, "legacy", "http://legacy.example.com/sse")
	sse.Transport = upstreams.TransportSSE

	tests := []struct {
		name    string
		p       Params
		wantErr bool // Envoy must reject it (proves validation is real)
	}{
		{"minimal", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile}, false},
		{"https and http upstreams", Params{
			ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile,
			Upstreams: []*upstreams.Upstream{
				upstream(t, "github", "https://api.githubcopilot.com/mcp/"),
				upstream(t, "wiki", "http://10.0.0.5:8080/mcp?x=1"),
				upstream(t, "local", "https://127.0.0.1:8443/mcp"),
				stdio, sse,
			},
		}, false},
		{"dns names and ipv6", Params{
			ListenAddress: "::", ListenPort: 8080, AdminAddress: "::1", AdminPort: 19000,
			ExtProcAddress: "mcpgw-extproc.default.svc:9002", SidecarAddress: "[::1]:9003", CAFile: caFile,
			Upstreams: []*upstreams.Upstream{upstream(t, "v6", "https://[2001:db8::1]/mcp")},
		}, false},
		{"no admin, custom limits and log", Params{
			ListenPort: 4000, AdminPort: NoAdmin, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "localhost:9003",
			MaxRequestBodyBytes: 16 << 20, MessageTimeout: 30 * time.Second,
			AccessLog: t.TempDir() + "/access.log", CAFile: caFile,
		}, false},
		{"xds", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", XDSAddress: "127.0.0.1:9004", CAFile: caFile}, false},
		{"xds by name", Params{ListenPort: 4000, ExtProcAddress: "extproc:9002", SidecarAddress: "sidecar:9003", XDSAddress: "extproc:9004", CAFile: caFile}, false},
		{"admin API", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", AdminAPIAddress: "127.0.0.1:9005", CAFile: caFile}, false},
		{"admin API over xds", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", AdminAPIAddress: "127.0.0.1:9005", XDSAddress: "127.0.0.1:9004", CAFile: caFile}, false},
		{"replicas", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002,127.0.0.2:9002", SidecarAddress: "127.0.0.1:9003, 127.0.0.1:9004", CAFile: caFile}, false},
		{"tracing over gRPC", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile,
			Tracing: &Tracing{Protocol: "grpc", Endpoint: "http://127.0.0.1:4317", HostPort: "127.0.0.1:4317", ServiceName: "mcpgw-envoy", SamplingPercent: 100}}, false},
		{"tracing over HTTPS by name, internal socket", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile,
			InternalSocket: t.TempDir() + "/gw.sock",
			Tracing:        &Tracing{Protocol: "http/protobuf", Endpoint: "https://collector.example:4318/v1/traces", HostPort: "collector.example:4318", ServiceName: "gw-envoy", SamplingPercent: 25}}, false},
		{"fast path (its access log to the ext_proc cluster)", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile,
			Upstreams: []*upstreams.Upstream{upstream(t, "wiki", "http://10.0.0.5:8080/mcp")},
			FastPath: &FastPath{KeyHeader: "x-litellm-api-key", Separator: "-", Servers: []FastPathServer{{Alias: "wiki",
				Grants: map[string]FastPathGrant{"ab": {KeyAlias: "k", AnyTool: true}}}}}}, false},
		{"fast path in the module", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile,
			Upstreams: []*upstreams.Upstream{upstream(t, "wiki", "http://10.0.0.5:8080/mcp")},
			FastPath: &FastPath{KeyHeader: "x-litellm-api-key", Separator: "-", Module: testutil.FastPathModule(t), ListToken: "t",
				Servers: []FastPathServer{{Alias: "wiki", Grants: map[string]FastPathGrant{"ab": {KeyAlias: "k", AnyTool: true}}}}}}, false},
		{"a module that is not there is rejected", Params{ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003", CAFile: caFile,
			FastPath: &FastPath{KeyHeader: "x-litellm-api-key", Separator: "-", Module: "/nonexistent/libmcpgw_fast_path.so"}}, true},
		{"missing CA file is rejected", Params{
			ListenPort: 4000, ExtProcAddress: "127.0.0.1:9002", SidecarAddress: "127.0.0.1:9003",
			CAFile:    "/nonexistent/ca.pem",
			Upstreams: []*upstreams.Upstream{upstream(t, "github", "https://api.githubcopilot.com/mcp/")},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Render(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			path := writeConfig(t, cfg)
			out, err := exec.Command(bin, "--mode", "validate", "-c", path, "--disable-hot-restart", "--log-level", "warn").CombinedOutput()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("envoy accepted the config:\n%s", cfg)
				}
				return
			}
			if err != nil {
				t.Fatalf("envoy --mode validate: %v\n%s\nconfig:\n%s", err, out, cfg)
			}
		})
	}
}
