package configfile

import (
	"errors"
	"net/netip"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/config"
)

var gatewayKeys = []string{"admin_address", "allowed_origins", "bind_address", "data_dir", "discovery_ttl", "drain_timeout", "encryption_key", "fast_path", "log_level", "max_request_body_bytes", "max_response_body_bytes", "metrics_tool_label", "ops_address", "port", "request_timeout", "session_secrets", "session_ttl", "tls_cert_file", "tls_client_ca_file", "tls_key_file", "upstream_session_idle"}

// minSessionSecretLen is the shortest session secret accepted (bytes).
const minSessionSecretLen = 32

// minEncryptionKeyLen is the shortest gateway.encryption_key accepted.
const minEncryptionKeyLen = 16

var logLevels = []string{"debug", "info", "warn", "error"}

// ParseAdminAddress reads an Envoy admin address (gateway.admin_address,
// mcpgw run -admin-address): a loopback IP and a port, 0 for a free one.
// The error says what is wrong, without the value.
func ParseAdminAddress(v string) (netip.AddrPort, error) {
	a, err := netip.ParseAddrPort(v)
	switch {
	case err != nil || a.Addr().Zone() != "":
		return netip.AddrPort{}, errors.New("must be a loopback IP and port such as 127.0.0.1:9901 (port 0: a free port)")
	case !a.Addr().IsLoopback():
		return netip.AddrPort{}, errors.New("must be a loopback address: Envoy's admin interface is unauthenticated")
	}
	return a, nil
}

// gateway reads the `gateway:` block into g, which holds the defaults.
func (p *parser) gateway(n *yaml.Node, g *config.GatewaySettings, st *config.StoreSettings) {
	const path = "gateway"
	pairs, _ := p.mapping(n, path)
	var adminNode, opsNode *yaml.Node
	tlsNodes := map[string]*yaml.Node{}
	for _, f := range pairs {
		fp := join(path, f.key)
		switch f.key {
		case "port":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 1 || v > 65535 {
					p.errorf(f.v, fp, "must be between 1 and 65535")
					continue
				}
				g.Port = int(v)
			}
		case "max_request_body_bytes":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 1 || v > config.MaxMaxRequestBodyBytes {
					p.errorf(f.v, fp, "must be between 1 and %d (64 MiB)", config.MaxMaxRequestBodyBytes)
					continue
				}
				g.MaxRequestBodyBytes = int(v)
			}
		case "max_response_body_bytes":
			if v, ok := p.integer(f.v, fp); ok {
				if v < config.MinMaxResponseBodyBytes || v > config.MaxMaxResponseBodyBytes {
					p.errorf(f.v, fp, "must be between %d (1 KiB) and %d (1 GiB)", config.MinMaxResponseBodyBytes, config.MaxMaxResponseBodyBytes)
					continue
				}
				g.MaxResponseBodyBytes = int(v)
			}
		case "request_timeout":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 11 || v > 3600 {
					p.errorf(f.v, fp, "must be between 11 and 3600 seconds (above the 10 s the gateway may take to route a request)")
					continue
				}
				g.RequestTimeout = time.Duration(v) * time.Second
			}
		case "log_level":
			if v, ok := p.enum(f.v, fp, logLevels); ok {
				g.LogLevel = v
			}
		case "session_secrets":
			if v, ok := p.strList(f.v, fp); ok {
				for i, sec := range v {
					if len(sec) < minSessionSecretLen {
						p.errorf(f.v, index(fp, i), "must be at least %d bytes (e.g. openssl rand -base64 48)", minSessionSecretLen)
					}
				}
				g.SessionSecrets = v
			}
		case "session_ttl":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 60 || v > 30*24*3600 {
					p.errorf(f.v, fp, "must be between 60 and 2592000 seconds (30 days)")
					continue
				}
				g.SessionTTL = time.Duration(v) * time.Second
			}
		case "upstream_session_idle":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 60 || v > 30*24*3600 {
					p.errorf(f.v, fp, "must be between 60 and 2592000 seconds (30 days)")
					continue
				}
				g.UpstreamSessionIdle = time.Duration(v) * time.Second
			}
		case "allowed_origins":
			if v, ok := p.strList(f.v, fp); ok {
				for i, o := range v {
					if o == "*" {
						continue
					}
					u, err := url.Parse(o)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
						p.errorf(f.v, index(fp, i), "must be an origin like https://app.example.com, or \"*\"")
					}
				}
				g.AllowedOrigins = v
			}
		case "discovery_ttl":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 1 || v > 24*3600 {
					p.errorf(f.v, fp, "must be between 1 and 86400 seconds (1 day)")
					continue
				}
				g.DiscoveryTTL = time.Duration(v) * time.Second
			}
		case "bind_address":
			if v, ok := p.str(f.v, fp); ok {
				a, err := netip.ParseAddr(v)
				if err != nil || a.Zone() != "" {
					p.errorf(f.v, fp, "must be an IP address: 0.0.0.0 (every IPv4 interface, the default), 127.0.0.1 (this machine only), :: or one interface's address")
					continue
				}
				g.BindAddress = a.String()
			}
		case "admin_address":
			if v, ok := p.str(f.v, fp); ok {
				a, err := ParseAdminAddress(v)
				if err != nil {
					p.errorf(f.v, fp, "%v", err)
					continue
				}
				g.AdminAddress = a
				adminNode = f.v
			}
		case "ops_address":
			if v, ok := p.str(f.v, fp); ok {
				a, err := netip.ParseAddrPort(v)
				if err != nil || a.Addr().Zone() != "" {
					p.errorf(f.v, fp, "must be an IP and port such as 127.0.0.1:9090 (port 0: a free port; 0.0.0.0:9090 for probes and scrapes from outside the host)")
					continue
				}
				g.OpsAddress = a
				opsNode = f.v
			}
		case "drain_timeout":
			if v, ok := p.integer(f.v, fp); ok {
				if v < 0 || v > 3600 {
					p.errorf(f.v, fp, "must be between 0 and 3600 seconds")
					continue
				}
				g.DrainTimeout = time.Duration(v) * time.Second
			}
		case "fast_path":
			if v, ok := p.boolean(f.v, fp); ok {
				g.DisableFastPath = !v
			}
		case "metrics_tool_label":
			if v, ok := p.boolean(f.v, fp); ok {
				g.MetricsToolLabel = v
			}
		case "tls_cert_file", "tls_key_file", "tls_client_ca_file":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				v = p.relative(v)
				switch f.key {
				case "tls_cert_file":
					g.TLSCertFile = v
				case "tls_key_file":
					g.TLSKeyFile = v
				default:
					g.TLSClientCAFile = v
				}
				tlsNodes[f.key] = f.v
			}
		case "data_dir":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				st.DataDir = p.relative(v)
			}
		case "encryption_key":
			if v, ok := p.str(f.v, fp); ok && v != "" {
				if len(v) < minEncryptionKeyLen {
					p.errorf(f.v, fp, "must be at least %d bytes (e.g. openssl rand -base64 32)", minEncryptionKeyLen)
					continue
				}
				st.EncryptionKey = v
			}
		default:
			p.errorf(f.k, fp, "unknown key%s", suggest(f.key, gatewayKeys))
		}
	}
	// Whether the files can be read and hold a certificate and its key is
	// checked where the gateway is built (gateway.CheckListenerTLS).
	switch {
	case g.TLSCertFile != "" && g.TLSKeyFile == "":
		p.errorf(tlsNodes["tls_cert_file"], join(path, "tls_key_file"), "required with gateway.tls_cert_file")
	case g.TLSCertFile == "" && g.TLSKeyFile != "":
		p.errorf(tlsNodes["tls_key_file"], join(path, "tls_cert_file"), "required with gateway.tls_key_file")
	}
	if g.TLSClientCAFile != "" && g.TLSCertFile == "" {
		p.errorf(tlsNodes["tls_client_ca_file"], join(path, "tls_client_ca_file"), "needs gateway.tls_cert_file and gateway.tls_key_file: client certificates are checked on a TLS listener")
	}
	if adminNode != nil && int(g.AdminAddress.Port()) == g.Port {
		p.errorf(adminNode, join(path, "admin_address"), "port %d is gateway.port's", g.Port)
	}
	if opsNode != nil && g.OpsAddress.Port() != 0 {
		switch int(g.OpsAddress.Port()) {
		case g.Port:
			p.errorf(opsNode, join(path, "ops_address"), "port %d is gateway.port's", g.Port)
		case int(g.AdminAddress.Port()):
			p.errorf(opsNode, join(path, "ops_address"), "port %d is gateway.admin_address's", g.OpsAddress.Port())
		}
	}
}
