package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
)

// writePair writes a self-signed certificate and its key into dir.
func writePair(t *testing.T, dir, name string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func TestCheckListenerTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "a")
	_, otherKey := writePair(t, dir, "b")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name      string
		g         config.GatewaySettings
		wantError string
	}{
		{name: "no TLS", g: config.GatewaySettings{}},
		{name: "pair", g: config.GatewaySettings{TLSCertFile: cert, TLSKeyFile: key}},
		{name: "pair and client CA", g: config.GatewaySettings{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: cert}},
		{name: "no cert file", g: config.GatewaySettings{TLSCertFile: missing, TLSKeyFile: key},
			wantError: "gateway.tls_cert_file: " + missing + ": no such file or directory"},
		{name: "no key file", g: config.GatewaySettings{TLSCertFile: cert, TLSKeyFile: missing},
			wantError: "gateway.tls_key_file: " + missing},
		{name: "key of another certificate", g: config.GatewaySettings{TLSCertFile: cert, TLSKeyFile: otherKey},
			wantError: "gateway.tls_cert_file, gateway.tls_key_file: not a PEM certificate and its private key"},
		{name: "not PEM", g: config.GatewaySettings{TLSCertFile: garbage, TLSKeyFile: key},
			wantError: "gateway.tls_cert_file, gateway.tls_key_file"},
		{name: "client CA not PEM", g: config.GatewaySettings{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: garbage},
			wantError: "gateway.tls_client_ca_file: " + garbage + " holds no PEM certificate"},
		{name: "client CA missing", g: config.GatewaySettings{TLSCertFile: cert, TLSKeyFile: key, TLSClientCAFile: missing},
			wantError: "gateway.tls_client_ca_file: " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckListenerTLS(tt.g)
			if tt.wantError == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Fatalf("error %v, want %q", err, tt.wantError)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}
