package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// envoy-config with listener TLS writes the SDS files next to the
// bootstrap (or into -secrets-dir) and refuses a key that is not the
// certificate's, naming the settings.
func TestEnvoyConfigTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "tls.key"), keyPEM, 0o600)
	_, otherKey := selfSigned(t)
	os.WriteFile(filepath.Join(dir, "other.key"), otherKey, 0o600)
	cfg := func(key string) string {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, []byte("mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\ngateway:\n  tls_cert_file: "+
			filepath.Join(dir, "tls.crt")+"\n  tls_key_file: "+filepath.Join(dir, key)+"\n"), 0o600)
		return path
	}
	out := filepath.Join(t.TempDir(), "envoy.yaml")
	if code, _, errOut := runCmd("envoy-config", "-config", cfg("tls.key"), "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	bootstrap, _ := os.ReadFile(out)
	sds, err := os.ReadFile(filepath.Join(filepath.Dir(out), "sds-listener-cert.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(bootstrap), filepath.Join(filepath.Dir(out), "sds-listener-cert.yaml")) ||
		!strings.Contains(string(sds), "filename: "+filepath.Join(dir, "tls.key")) {
		t.Errorf("bootstrap:\n%s\nSDS file:\n%s", bootstrap, sds)
	}
	if code, _, _ := runCmd("envoy-config", "-config", cfg("tls.key")); code == 0 {
		t.Error("TLS without -o or -secrets-dir: exit 0")
	}
	code, _, errOut := runCmd("envoy-config", "-config", cfg("other.key"), "-o", out)
	if code == 0 || !strings.Contains(errOut, "gateway.tls_cert_file, gateway.tls_key_file: not a PEM certificate and its private key") ||
		strings.Contains(errOut, "PRIVATE KEY") {
		t.Errorf("mismatched key: exit %d, %s", code, errOut)
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestEnvoyConfigTracing: the OTEL_* variables give the rendered Envoy
// its tracer and collector cluster; none give neither; a bad one is an
// error naming it.
func TestEnvoyConfigTracing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("mcp_servers:\n  demo:\n    url: http://127.0.0.1:4100/mcp\n"), 0o600)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    []string
		notWant []string
		err     string
	}{
		{"off", nil, nil, []string{"envoy.tracers.opentelemetry", "mcpgw_otlp"}, ""},
		{"grpc", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_SERVICE_NAME": "gw"},
			[]string{"envoy.tracers.opentelemetry", "cluster_name: mcpgw_otlp", "service_name: gw-envoy", "address: collector", "port_value: 4317"}, nil, ""},
		{"bad protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, nil, nil, "OTEL_EXPORTER_OTLP_PROTOCOL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
				"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER"} {
				t.Setenv(k, tc.env[k])
			}
			code, out, errOut := runCmd("envoy-config", "-config", path)
			if tc.err != "" {
				if code == 0 || !strings.Contains(errOut, tc.err) {
					t.Fatalf("exit %d, stderr %q: want an error naming %s", code, errOut, tc.err)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("bootstrap lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("bootstrap has %q", w)
				}
			}
		})
	}
}
