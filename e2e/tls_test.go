//go:build linux

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// testCA is a CA made for one test; it signs server and client
// certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

var certSerial = big.NewInt(100)

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

// issue returns the PEM certificate and key of a leaf for 127.0.0.1 and
// localhost named cn, for servers or clients.
func (ca *testCA) issue(t *testing.T, cn string, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certSerial.Add(certSerial, big.NewInt(1))
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).Set(certSerial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// replaceFile writes data to path as a rotation does: a new file moved
// into place.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// connectTLS is connect with an HTTP client of the TLS config.
func connectTLS(t *testing.T, endpoint string, cfg *tls.Config) (*mcp.ClientSession, error) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	t.Cleanup(hc.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-tls", Version: "1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

// peerCN dials addr with TLS and returns the server certificate's CN.
func peerCN(addr string, cfg *tls.Config) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// TestTLSListener: gateway.tls_cert_file and tls_key_file make Envoy's
// listener speak TLS: a go-sdk client trusting the test CA calls a tool
// over https, plain http is refused, and a certificate moved into place
// is served to new connections without a restart.
func TestTLSListener(t *testing.T) {
	up := startUpstream(t, "alpha", true, "echo")
	ca := newTestCA(t, "mcpgw test CA")
	dir := t.TempDir()
	certPEM, keyPEM := ca.issue(t, "gateway-1", false)
	replaceFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	replaceFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	cfg := configFor(map[string]string{"alpha": up.URL}) +
		fmt.Sprintf("  tls_cert_file: %q\n  tls_key_file: %q\n", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	gw := gatewayUnder(t, cfg)
	if !strings.HasPrefix(gw.Endpoint, "https://") {
		t.Fatalf("endpoint %s, want https", gw.Endpoint)
	}
	clientTLS := &tls.Config{RootCAs: ca.pool, ServerName: "localhost"}
	cs, err := connectTLS(t, gw.Endpoint, clientTLS)
	if err != nil {
		t.Fatalf("https client: %v", err)
	}
	if got := mustText(t, cs, "alpha-echo", map[string]any{"text": "tls"}); got != "alpha:echo:tls" {
		t.Errorf("alpha-echo = %q", got)
	}

	plain := strings.Replace(gw.Endpoint, "https://", "http://", 1)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(plain, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("plain http answered %s", resp.Status)
	}

	addr := strings.TrimSuffix(strings.TrimPrefix(gw.Endpoint, "https://"), "/mcp")
	if cn, err := peerCN(addr, clientTLS); err != nil || cn != "gateway-1" {
		t.Fatalf("before rotation: CN %q, %v", cn, err)
	}
	// Rotation: key first, then the certificate (Envoy reads the pair
	// again on either move and keeps the old one while they do not match).
	certPEM, keyPEM = ca.issue(t, "gateway-2", false)
	replaceFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	replaceFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	var cn string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cn, err = peerCN(addr, clientTLS); err == nil && cn == "gateway-2" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cn != "gateway-2" {
		t.Fatalf("after rotation: CN %q, %v; want gateway-2", cn, err)
	}
	// The session opened before the rotation still works, and so does a
	// new client.
	if got := mustText(t, cs, "alpha-echo", map[string]any{"text": "old"}); got != "alpha:echo:old" {
		t.Errorf("old session: %q", got)
	}
	cs2, err := connectTLS(t, gw.Endpoint, clientTLS)
	if err != nil {
		t.Fatalf("https client after rotation: %v", err)
	}
	if got := mustText(t, cs2, "alpha-echo", map[string]any{"text": "new"}); got != "alpha:echo:new" {
		t.Errorf("new session: %q", got)
	}
}

// TestTLSClientCertificates: with gateway.tls_client_ca_file a client
// must present a certificate of that CA (mTLS).
func TestTLSClientCertificates(t *testing.T) {
	up := startUpstream(t, "alpha", true, "echo")
	serverCA := newTestCA(t, "mcpgw server CA")
	clientCA := newTestCA(t, "mcpgw client CA")
	otherCA := newTestCA(t, "someone else's CA")
	dir := t.TempDir()
	certPEM, keyPEM := serverCA.issue(t, "gateway", false)
	replaceFile(t, filepath.Join(dir, "cert.pem"), certPEM)
	replaceFile(t, filepath.Join(dir, "key.pem"), keyPEM)
	replaceFile(t, filepath.Join(dir, "clients.pem"), clientCA.pem)
	cfg := configFor(map[string]string{"alpha": up.URL}) +
		fmt.Sprintf("  tls_cert_file: %q\n  tls_key_file: %q\n  tls_client_ca_file: %q\n",
			filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "clients.pem"))
	gw := gatewayUnder(t, cfg)

	clientCert := func(ca *testCA) tls.Certificate {
		c, k := ca.issue(t, "client", true)
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return pair
	}
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no certificate", nil, false},
		{"another CA's certificate", []tls.Certificate{clientCert(otherCA)}, false},
		{"the client CA's certificate", []tls.Certificate{clientCert(clientCA)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := connectTLS(t, gw.Endpoint, &tls.Config{RootCAs: serverCA.pool, ServerName: "localhost", Certificates: tc.certs})
			if !tc.ok {
				if err == nil {
					t.Fatal("connected without an accepted client certificate")
				}
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			if got := mustText(t, cs, "alpha-echo", map[string]any{"text": "mtls"}); got != "alpha:echo:mtls" {
				t.Errorf("alpha-echo = %q", got)
			}
		})
	}

	// The sidecar brings legacy HTTP+SSE clients' messages and the REST
	// facade's calls back into the gateway; on a TLS listener (here one
	// that wants client certificates the sidecar does not have) it takes
	// Envoy's internal socket, with the same routes and policy.
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: serverCA.pool, ServerName: "localhost", Certificates: []tls.Certificate{clientCert(clientCA)}}}}
	t.Cleanup(hc.CloseIdleConnections)
	base := strings.TrimSuffix(gw.Endpoint, "/mcp")
	t.Run("legacy HTTP+SSE client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-sse-tls", Version: "1"}, nil).
			Connect(ctx, &mcp.SSEClientTransport{Endpoint: base + "/sse", HTTPClient: hc}, nil)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer cs.Close()
		if got := mustText(t, cs, "alpha-echo", map[string]any{"text": "sse"}); got != "alpha:echo:sse" {
			t.Errorf("alpha-echo = %q", got)
		}
	})
	t.Run("REST facade", func(t *testing.T) {
		resp, err := hc.Post(base+"/mcp-rest/tools/call", "application/json",
			strings.NewReader(`{"name":"alpha-echo","arguments":{"text":"rest"}}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "alpha:echo:rest") {
			t.Errorf("%s %s", resp.Status, body)
		}
	})
}
