package configfile

import (
	"net/netip"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
)

func TestGatewayAddresses(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		env       map[string]string
		bind      string
		admin     netip.AddrPort
		wantError string // a problem containing this; "" = parses
	}{
		{name: "defaults", src: "gateway:\n  port: 4000\n"},
		{name: "loopback only", src: "gateway:\n  bind_address: 127.0.0.1\n", bind: "127.0.0.1"},
		{name: "every IPv6 interface", src: "gateway:\n  bind_address: \"::\"\n", bind: "::"},
		{name: "fixed admin port", src: "gateway:\n  admin_address: 127.0.0.1:9901\n", admin: netip.MustParseAddrPort("127.0.0.1:9901")},
		{name: "IPv6 loopback admin, free port", src: "gateway:\n  admin_address: \"[::1]:0\"\n", admin: netip.MustParseAddrPort("[::1]:0")},
		{name: "addresses from the environment", src: "gateway:\n  bind_address: os.environ/BIND\n  admin_address: os.environ/ADMIN\n",
			env: map[string]string{"BIND": "10.0.0.5", "ADMIN": "127.0.0.2:9902"}, bind: "10.0.0.5", admin: netip.MustParseAddrPort("127.0.0.2:9902")},
		{name: "bind to a host name", src: "gateway:\n  bind_address: localhost\n",
			wantError: "test.yaml:2: gateway.bind_address: must be an IP address"},
		{name: "bind with a port", src: "gateway:\n  bind_address: 0.0.0.0:4000\n",
			wantError: "test.yaml:2: gateway.bind_address: must be an IP address"},
		{name: "admin without a port", src: "gateway:\n  admin_address: 127.0.0.1\n",
			wantError: "test.yaml:2: gateway.admin_address: must be a loopback IP and port"},
		{name: "admin on every interface", src: "gateway:\n  admin_address: 0.0.0.0:9901\n",
			wantError: "test.yaml:2: gateway.admin_address: must be a loopback address: Envoy's admin interface is unauthenticated"},
		{name: "admin on a public address", src: "gateway:\n  admin_address: 192.0.2.1:9901\n",
			wantError: "gateway.admin_address: must be a loopback address"},
		{name: "admin on the gateway's port", src: "gateway:\n  admin_address: 127.0.0.1:8080\n  port: 8080\n",
			wantError: "test.yaml:2: gateway.admin_address: port 8080 is gateway.port's"},
		{name: "misspelt", src: "gateway:\n  bind_adress: 127.0.0.1\n",
			wantError: `gateway.bind_adress: unknown key (did you mean "bind_address"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantError != "" {
				findLine(t, problemsOf(t, tt.src, tt.env), tt.wantError)
				return
			}
			g := mustParse(t, tt.src, tt.env).Gateway
			if g.BindAddress != tt.bind || g.AdminAddress != tt.admin {
				t.Errorf("bind_address %q admin_address %v, want %q %v", g.BindAddress, g.AdminAddress, tt.bind, tt.admin)
			}
		})
	}
}

// TestGatewayOps: the operations listener, the drain timeout and the
// metrics' tool label.
func TestGatewayOps(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		ops       netip.AddrPort
		drain     time.Duration
		toolLabel bool
		wantError string
	}{
		{name: "defaults", src: "gateway:\n  port: 4000\n", drain: config.DefaultDrainTimeout},
		{name: "set", src: "gateway:\n  ops_address: 0.0.0.0:9090\n  drain_timeout: 30\n  metrics_tool_label: true\n",
			ops: netip.MustParseAddrPort("0.0.0.0:9090"), drain: 30 * time.Second, toolLabel: true},
		{name: "no drain", src: "gateway:\n  drain_timeout: 0\n"},
		{name: "ops without a port", src: "gateway:\n  ops_address: 127.0.0.1\n",
			wantError: "test.yaml:2: gateway.ops_address: must be an IP and port"},
		{name: "ops on the gateway's port", src: "gateway:\n  ops_address: 0.0.0.0:4000\n",
			wantError: "test.yaml:2: gateway.ops_address: port 4000 is gateway.port's"},
		{name: "ops on the admin port", src: "gateway:\n  ops_address: 127.0.0.1:9901\n  admin_address: 127.0.0.1:9901\n",
			wantError: "gateway.ops_address: port 9901 is gateway.admin_address's"},
		{name: "drain too long", src: "gateway:\n  drain_timeout: 7200\n",
			wantError: "gateway.drain_timeout: must be between 0 and 3600 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantError != "" {
				findLine(t, problemsOf(t, tt.src, nil), tt.wantError)
				return
			}
			g := mustParse(t, tt.src, nil).Gateway
			if g.OpsAddress != tt.ops || g.DrainTimeout != tt.drain || g.MetricsToolLabel != tt.toolLabel {
				t.Errorf("ops_address %v drain_timeout %v metrics_tool_label %v, want %v %v %v",
					g.OpsAddress, g.DrainTimeout, g.MetricsToolLabel, tt.ops, tt.drain, tt.toolLabel)
			}
		})
	}
}

// TestGatewayTLS: the listener's certificate files, relative to the config
// file's directory. Whether they hold a certificate is checked where the
// gateway is built.
func TestGatewayTLS(t *testing.T) {
	tests := []struct {
		name          string
		src           string
		cert, key, ca string
		wantError     string
	}{
		{name: "none", src: "gateway:\n  port: 4000\n"},
		{name: "relative", src: "gateway:\n  tls_cert_file: tls/cert.pem\n  tls_key_file: tls/key.pem\n",
			cert: "tls/cert.pem", key: "tls/key.pem"},
		{name: "absolute, with client CA", src: "gateway:\n  tls_cert_file: /c.pem\n  tls_key_file: /k.pem\n  tls_client_ca_file: /ca.pem\n",
			cert: "/c.pem", key: "/k.pem", ca: "/ca.pem"},
		{name: "cert without key", src: "gateway:\n  tls_cert_file: /c.pem\n",
			wantError: "test.yaml:2: gateway.tls_key_file: required with gateway.tls_cert_file"},
		{name: "key without cert", src: "gateway:\n  tls_key_file: /k.pem\n",
			wantError: "test.yaml:2: gateway.tls_cert_file: required with gateway.tls_key_file"},
		{name: "client CA without cert", src: "gateway:\n  tls_client_ca_file: /ca.pem\n",
			wantError: "test.yaml:2: gateway.tls_client_ca_file: needs gateway.tls_cert_file"},
		{name: "not a string", src: "gateway:\n  tls_cert_file: [a]\n  tls_key_file: /k.pem\n",
			wantError: "gateway.tls_cert_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantError != "" {
				findLine(t, problemsOf(t, tt.src, nil), tt.wantError)
				return
			}
			g := mustParse(t, tt.src, nil).Gateway
			if g.TLSCertFile != tt.cert || g.TLSKeyFile != tt.key || g.TLSClientCAFile != tt.ca {
				t.Errorf("got %q %q %q, want %q %q %q", g.TLSCertFile, g.TLSKeyFile, g.TLSClientCAFile, tt.cert, tt.key, tt.ca)
			}
		})
	}
}

// TestGatewayFastPath: gateway.fast_path is on unless set false.
func TestGatewayFastPath(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		disabled  bool
		wantError string
	}{
		{name: "default on", src: "gateway:\n  port: 4000\n"},
		{name: "on", src: "gateway:\n  fast_path: true\n"},
		{name: "off", src: "gateway:\n  fast_path: false\n", disabled: true},
		{name: "not a boolean", src: "gateway:\n  fast_path: sometimes\n", wantError: "gateway.fast_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantError != "" {
				findLine(t, problemsOf(t, tt.src, nil), tt.wantError)
				return
			}
			if g := mustParse(t, tt.src, nil).Gateway; g.DisableFastPath != tt.disabled {
				t.Errorf("DisableFastPath %v, want %v", g.DisableFastPath, tt.disabled)
			}
		})
	}
}
