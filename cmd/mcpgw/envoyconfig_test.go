package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envoy-config renders the listener at gateway.bind_address and the admin
// interface at gateway.admin_address; a bootstrap someone else runs gets a
// fixed admin port (9901 unless the config or -admin-port says otherwise),
// never the free port `mcpgw run` picks.
func TestEnvoyConfigAddresses(t *testing.T) {
	const servers = "mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\n"
	for _, tc := range []struct {
		name, gateway string
		args          []string
		want          []string
	}{
		{"defaults", "", nil, []string{"address: 0.0.0.0\n          port_value: 4000", "address: 127.0.0.1\n      port_value: 9901", "enable_reuse_port: false"}},
		{"from the config", "gateway:\n  bind_address: 127.0.0.1\n  admin_address: \"[::1]:9950\"\n", nil,
			[]string{"address: 127.0.0.1\n          port_value: 4000", "address: ::1\n      port_value: 9950"}},
		{"free admin port in the config", "gateway:\n  admin_address: 127.0.0.2:0\n", nil, []string{"address: 127.0.0.2\n      port_value: 9901"}},
		{"flag wins", "gateway:\n  admin_address: 127.0.0.1:9950\n", []string{"-admin-port", "9960"}, []string{"address: 127.0.0.1\n      port_value: 9960"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(servers+tc.gateway), 0o600)
			code, out, errOut := runCmd(append([]string{"envoy-config", "-config", path}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("bootstrap lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("bootstrap:\n%s", out)
			}
		})
	}
}
