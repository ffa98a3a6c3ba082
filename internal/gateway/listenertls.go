package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mcpgw/mcpgw/envoy"
	"github.com/mcpgw/mcpgw/internal/config"
)

// CheckListenerTLS checks the listener's certificate files before Envoy
// is given them: Envoy would otherwise keep the listener warming (never
// serving) or log its reason only in its own output. The key pair must
// load (crypto/tls.LoadX509KeyPair: the files are readable, PEM, and the
// key belongs to the certificate) and the client CA bundle must hold at
// least one certificate. Errors name the setting, never file contents.
func CheckListenerTLS(g config.GatewaySettings) error {
	if g.TLSCertFile == "" {
		return nil
	}
	for _, f := range []struct{ key, path string }{{"tls_cert_file", g.TLSCertFile}, {"tls_key_file", g.TLSKeyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("gateway.%s: %w", f.key, pathError(err))
		}
	}
	if _, err := tls.LoadX509KeyPair(g.TLSCertFile, g.TLSKeyFile); err != nil {
		return fmt.Errorf("gateway.tls_cert_file, gateway.tls_key_file: not a PEM certificate and its private key: %w", err)
	}
	if g.TLSClientCAFile != "" {
		pem, err := os.ReadFile(g.TLSClientCAFile)
		if err != nil {
			return fmt.Errorf("gateway.tls_client_ca_file: %w", pathError(err))
		}
		if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			return fmt.Errorf("gateway.tls_client_ca_file: %s holds no PEM certificate", g.TLSClientCAFile)
		}
	}
	return nil
}

// pathError is err with the path kept (it is the operator's own setting).
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// listenerTLSParams sets p's TLS fields from g, with absolute paths
// (Envoy resolves relative ones against its own working directory), and
// the SDS files' directory.
func listenerTLSParams(p *envoy.Params, g config.GatewaySettings, secretsDir string) error {
	if g.TLSCertFile == "" {
		return nil
	}
	abs := func(s string) (string, error) {
		if s == "" {
			return "", nil
		}
		return filepath.Abs(s)
	}
	var err error
	if p.TLSCertFile, err = abs(g.TLSCertFile); err != nil {
		return err
	}
	if p.TLSKeyFile, err = abs(g.TLSKeyFile); err != nil {
		return err
	}
	if p.TLSClientCAFile, err = abs(g.TLSClientCAFile); err != nil {
		return err
	}
	p.SecretsDir, err = abs(secretsDir)
	return err
}

// ListenerTLSParams sets p's TLS fields from g for an Envoy someone else
// runs (mcpgw envoy-config): the SDS files go into secretsDir, which must
// be where that Envoy sees them too. It checks the files first.
func ListenerTLSParams(p *envoy.Params, g config.GatewaySettings, secretsDir string) error {
	if err := CheckListenerTLS(g); err != nil {
		return err
	}
	return listenerTLSParams(p, g, secretsDir)
}

// WriteSecretFiles writes the SDS files of p's listener TLS (if any) into
// p.SecretsDir.
func WriteSecretFiles(p envoy.Params) error {
	files, err := envoy.SecretFiles(p)
	if err != nil {
		return err
	}
	for _, f := range files {
		// Written whole then renamed, so an Envoy watching the file never
		// reads half of it.
		path := filepath.Join(p.SecretsDir, f.Name)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, f.Data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}
