package envoy

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
)

// Defaults applied by [Params] zero values.
const (
	DefaultListenAddress       = "0.0.0.0"
	DefaultAdminAddress        = "127.0.0.1"
	DefaultMaxRequestBodyBytes = 1 << 20 // Envoy's own per-connection default
	DefaultMessageTimeout      = 10 * time.Second
	DefaultRequestTimeout      = 30 * time.Second
	DefaultAccessLog           = "/dev/stdout"
	// DefaultCAFile is the system CA bundle on Debian, Ubuntu (the official
	// Envoy image) and Alpine.
	DefaultCAFile = "/etc/ssl/certs/ca-certificates.crt"
)

// NoAdmin as Params.AdminPort renders a bootstrap without an admin listener.
// Readiness checks (/ready) then are not possible.
const NoAdmin = -1

// Params is everything the bootstrap depends on. Zero values mean the
// documented default; Validate reports what is missing or malformed.
type Params struct {
	// ListenAddress is the IP the gateway listener binds. "" = 0.0.0.0.
	ListenAddress string
	// ListenPort is the gateway listener port. Required.
	ListenPort int
	// AdminAddress is the IP of Envoy's admin interface. "" = 127.0.0.1.
	// The admin interface is unauthenticated: keep it on loopback.
	AdminAddress string
	// AdminPort is the admin port. 0 = a port the kernel picks when Envoy
	// starts (run Envoy with --admin-address-path to learn it); NoAdmin
	// (-1) = no admin interface at all.
	AdminPort int
	// ExtProcAddress is host:port of the ext_proc gRPC service. Required.
	// An IP host gives a STATIC cluster, a name a STRICT_DNS one. Several
	// replicas are given as a comma-separated list of IP host:ports; Envoy
	// balances across them (round robin, no stickiness).
	ExtProcAddress string
	// SidecarAddress is host:port of the adapter sidecar HTTP server.
	// Required. Same rules as ExtProcAddress.
	SidecarAddress string
	// XDSAddress is host:port of the gateway's ADS server (package
	// envoy/xds), same rules as ExtProcAddress. When set, Envoy gets the
	// upstream clusters and the route table from it (delta xDS), so
	// servers can be added, changed and removed without a restart, and
	// Upstreams is not rendered into the bootstrap; the listener and the
	// ext_proc, sidecar and xDS clusters stay static. "" = everything
	// static, from Upstreams.
	XDSAddress string
	// AdminAPIAddress is host:port of the admin API's HTTP server
	// (package controlplane/admin, which also serves the web UI,
	// controlplane/ui), same rules as ExtProcAddress. When set, the paths
	// in wellknown.AdminAPIPaths, AdminAPIPrefixes and UIPaths are routed
	// to it, with ext_proc off (the admin API and the UI authenticate
	// every request themselves). "" = no admin API.
	AdminAPIAddress string
	// Upstreams are the configured MCP servers. Transport http ones and
	// adapted ones bound to the sidecar's endpoint (upstreams.BindAdapters)
	// get a cluster (named u.Cluster); the others are reached via the
	// sidecar. With an XDSAddress they are served over xDS instead (see
	// UpstreamClusters and RouteConfig).
	Upstreams []*upstreams.Upstream
	// MaxRequestBodyBytes bounds a request body; Envoy answers 413 above it.
	// 0 = 1 MiB. The ext_proc service receives whole bodies in one gRPC
	// message, so its server must accept messages this large (Go gRPC's
	// default receive limit is 4 MiB).
	MaxRequestBodyBytes int
	// MessageTimeout is ext_proc's per-message timeout. 0 = 10s.
	MessageTimeout time.Duration
	// RequestTimeout bounds receiving one whole request (the HCM's
	// request_timeout: 408 after it); it must be above MessageTimeout,
	// which the request may spend waiting for ext_proc. 0 = 30s, or twice
	// MessageTimeout when that is longer.
	RequestTimeout time.Duration
	// AccessLog is the access log file. "" = /dev/stdout. Each request is
	// one JSON object per line with the keys start_time, method, path,
	// status, details, flags, upstream_cluster, upstream_host, duration_ms,
	// bytes_received, bytes_sent, mcp_name, request_id, user_agent (and
	// key_alias, server, tool, mcp_method, jsonrpc_error, is_error and
	// decided_by from the gateway's dynamic metadata), e.g.
	// {"method":"POST","path":"/mcp","status":200,
	// "upstream_cluster":"mcp_upstream_github",...}. status, duration_ms
	// and the byte counts are numbers; missing values are null. path is the
	// path sent upstream (after ext_proc's rewrite) without the query, which
	// may carry credentials. upstream_cluster is the cluster ext_proc chose.
	// Envoy writes the file every 10s unless started with
	// --file-flush-interval-msec.
	AccessLog string
	// CAFile is the CA bundle used to verify https upstreams.
	// "" = DefaultCAFile.
	CAFile string
	// TLSCertFile and TLSKeyFile are PEM files of the listener's
	// certificate (chain) and private key, absolute paths as Envoy sees
	// them. Set, the listener speaks only TLS (ALPN h2 and http/1.1), and
	// Envoy reads the files again when they are replaced (SecretFiles).
	// "" = plain HTTP.
	TLSCertFile string
	TLSKeyFile  string
	// TLSClientCAFile is a PEM bundle of CAs; set, every client must
	// present a certificate signed by one of them (mTLS). Needs
	// TLSCertFile.
	TLSClientCAFile string
	// SecretsDir is the directory, as Envoy sees it, that holds the
	// files of SecretFiles. Required with TLSCertFile.
	SecretsDir string
	// InternalSocket is a Unix socket path where Envoy also serves the
	// listener's routes, in plain HTTP, for the sidecar's requests back
	// into the gateway (messages of legacy HTTP+SSE clients, the REST
	// facade's calls) when the listener speaks TLS: the sidecar holds no
	// client certificate, and its requests never leave the host. The
	// socket is the owner's only (mode 0600). "" = none.
	InternalSocket string
	// NoExtProc leaves the ext_proc HTTP filter out of the listener, for
	// benchmarks only: it is the "Envoy alone" baseline that shows what
	// ext_proc costs. Nothing then sets x-mcp-cluster, so a client must send
	// it itself, and nothing strips tool prefixes, rewrites paths, maps
	// sessions or applies policy. Everything else is rendered as usual
	// (the ext_proc and sidecar clusters too, so ExtProcAddress and
	// SidecarAddress are still required). Never use it for a real gateway.
	NoExtProc bool
	// FastPath, when set, lets Envoy decide some tools/call itself
	// (fastpath.go). nil = ext_proc decides every request.
	FastPath *FastPath
	// Tracing, when set, makes Envoy trace every request with its
	// OpenTelemetry tracer and send the spans to Tracing's collector (a
	// cluster of its own, wellknown.OTLPCluster). nil = no tracing.
	Tracing *Tracing
}

// withDefaults returns p with zero values replaced by defaults.
func (p Params) withDefaults() Params {
	if p.ListenAddress == "" {
		p.ListenAddress = DefaultListenAddress
	}
	if p.AdminAddress == "" {
		p.AdminAddress = DefaultAdminAddress
	}
	if p.MaxRequestBodyBytes == 0 {
		p.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if p.MessageTimeout == 0 {
		p.MessageTimeout = DefaultMessageTimeout
	}
	if p.RequestTimeout == 0 {
		p.RequestTimeout = max(DefaultRequestTimeout, 2*p.MessageTimeout)
	}
	if p.AccessLog == "" {
		p.AccessLog = DefaultAccessLog
	}
	if p.CAFile == "" {
		p.CAFile = DefaultCAFile
	}
	return p
}

// validate checks p (after withDefaults); errors name the Params field.
func (p Params) validate() error {
	if err := checkIP(p.ListenAddress); err != nil {
		return fieldErr("ListenAddress", err)
	}
	if err := checkPort(p.ListenPort); err != nil {
		return fieldErr("ListenPort", err)
	}
	if p.AdminPort != NoAdmin {
		if err := checkIP(p.AdminAddress); err != nil {
			return fieldErr("AdminAddress", err)
		}
		if p.AdminPort != 0 {
			if err := checkPort(p.AdminPort); err != nil {
				return fieldErr("AdminPort", err)
			}
		}
		if p.AdminPort == p.ListenPort {
			return fieldErr("AdminPort", fmt.Errorf("same as ListenPort %d", p.ListenPort))
		}
	}
	if p.InternalSocket != "" {
		// sun_path holds 108 bytes with the terminating NUL.
		if !filepath.IsAbs(p.InternalSocket) || len(p.InternalSocket) > 107 {
			return fieldErr("InternalSocket", fmt.Errorf("%q: want an absolute path of at most 107 bytes", p.InternalSocket))
		}
	}
	if err := validateTracing(p.Tracing); err != nil {
		return err
	}
	if _, err := splitAddressList(p.ExtProcAddress); err != nil {
		return fieldErr("ExtProcAddress", err)
	}
	if _, err := splitAddressList(p.SidecarAddress); err != nil {
		return fieldErr("SidecarAddress", err)
	}
	if p.AdminAPIAddress != "" {
		if _, err := splitAddressList(p.AdminAPIAddress); err != nil {
			return fieldErr("AdminAPIAddress", err)
		}
	}
	if p.XDSAddress != "" {
		if _, err := splitAddressList(p.XDSAddress); err != nil {
			return fieldErr("XDSAddress", err)
		}
	}
	if p.MessageTimeout < time.Millisecond {
		return fieldErr("MessageTimeout", fmt.Errorf("%v is below 1ms", p.MessageTimeout))
	}
	if p.RequestTimeout <= p.MessageTimeout {
		// The request waits for ext_proc's answer to its body, which may
		// take up to MessageTimeout.
		return fieldErr("RequestTimeout", fmt.Errorf("%v is not above MessageTimeout %v", p.RequestTimeout, p.MessageTimeout))
	}
	if err := p.validateTLS(); err != nil {
		return err
	}
	return p.validateRouting()
}

// validateRouting checks what the upstream clusters and the route table
// are built from (after withDefaults): the part of Params xDS serves.
func (p Params) validateRouting() error {
	if p.MaxRequestBodyBytes < 0 || p.MaxRequestBodyBytes > math.MaxUint32 {
		return fieldErr("MaxRequestBodyBytes", fmt.Errorf("%d is not in 0-%d", p.MaxRequestBodyBytes, uint32(math.MaxUint32)))
	}
	seen := map[string]bool{wellknown.ExtProcCluster: true, wellknown.SidecarCluster: true, wellknown.XDSCluster: true}
	for i, u := range p.Upstreams {
		if u == nil {
			return fieldErr(fmt.Sprintf("Upstreams[%d]", i), fmt.Errorf("nil"))
		}
		if skipCluster(u) {
			continue
		}
		if err := checkUpstream(u); err != nil {
			return fieldErr(fmt.Sprintf("Upstreams[%d] (%s)", i, u.Alias), err)
		}
		if seen[u.Cluster] {
			return fieldErr(fmt.Sprintf("Upstreams[%d] (%s)", i, u.Alias), fmt.Errorf("cluster name %q used twice", u.Cluster))
		}
		seen[u.Cluster] = true
	}
	return nil
}

func checkUpstream(u *upstreams.Upstream) error {
	if u.Cluster == "" {
		return fmt.Errorf("no cluster name")
	}
	if u.URL == nil {
		return fmt.Errorf("no url")
	}
	if u.URL.Scheme != "http" && u.URL.Scheme != "https" {
		return fmt.Errorf("url scheme %q is not http or https", u.URL.Scheme)
	}
	host, port, err := u.HostPort()
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("url %q has no host", u.URL.Redacted())
	}
	return checkPort(port)
}

func fieldErr(field string, err error) error {
	return fmt.Errorf("envoy: Params.%s: %w", field, err)
}

func checkIP(s string) error {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q is not an IP address", s)
	}
	return nil
}

func checkPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is not in 1-65535", port)
	}
	return nil
}

// splitHostPort parses "host:port" with a non-empty host and a valid port.
func splitHostPort(addr string) (host string, port int, err error) {
	if addr == "" {
		return "", 0, fmt.Errorf("empty; want host:port")
	}
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("%q has no host", addr)
	}
	port, err = strconv.Atoi(ps)
	if err != nil {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	if err := checkPort(port); err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	return host, port, nil
}
