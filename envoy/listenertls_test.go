package envoy

import (
	"strings"
	"testing"

	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
)

func TestListenerTLS(t *testing.T) {
	tests := []struct {
		name      string
		set       func(*Params)
		tls, mtls bool
		files     []string
		wantError string
	}{
		{name: "plain", set: func(*Params) {}},
		{name: "tls", set: func(p *Params) { p.TLSCertFile, p.TLSKeyFile, p.SecretsDir = "/c.pem", "/k.pem", "/run/envoy" },
			tls: true, files: []string{listenerCertSDSFile}},
		{name: "mtls", set: func(p *Params) {
			p.TLSCertFile, p.TLSKeyFile, p.TLSClientCAFile, p.SecretsDir = "/c.pem", "/k.pem", "/ca.pem", "/run/envoy"
		}, tls: true, mtls: true, files: []string{listenerCertSDSFile, clientCASDSFile}},
		{name: "key without cert", set: func(p *Params) { p.TLSKeyFile = "/k.pem" }, wantError: "Params.TLSKeyFile: set without TLSCertFile"},
		{name: "CA without cert", set: func(p *Params) { p.TLSClientCAFile = "/ca.pem" }, wantError: "Params.TLSClientCAFile: set without TLSCertFile"},
		{name: "cert without key", set: func(p *Params) { p.TLSCertFile, p.SecretsDir = "/c.pem", "/d" }, wantError: "Params.TLSKeyFile: required with TLSCertFile"},
		{name: "no secrets dir", set: func(p *Params) { p.TLSCertFile, p.TLSKeyFile = "/c.pem", "/k.pem" }, wantError: "Params.SecretsDir: required"},
		{name: "relative cert", set: func(p *Params) { p.TLSCertFile, p.TLSKeyFile, p.SecretsDir = "c.pem", "/k.pem", "/d" }, wantError: "Params.TLSCertFile: \"c.pem\" is not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := baseParams(t)
			tt.set(&p)
			b, err := Bootstrap(p)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error %v, want %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ts := b.StaticResources.Listeners[0].FilterChains[0].TransportSocket
			if (ts != nil) != tt.tls {
				t.Fatalf("transport socket %v, want TLS %v", ts, tt.tls)
			}
			if ts != nil {
				var ctx tlsv3.DownstreamTlsContext
				if err := ts.GetTypedConfig().UnmarshalTo(&ctx); err != nil {
					t.Fatal(err)
				}
				if got := ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs()[0]; got.Name != ListenerCertSecret ||
					got.GetSdsConfig().GetPathConfigSource().GetPath() != "/run/envoy/"+listenerCertSDSFile {
					t.Errorf("certificate secret %v", got)
				}
				if ctx.GetRequireClientCertificate().GetValue() != tt.mtls || (ctx.GetCommonTlsContext().GetValidationContextSdsSecretConfig() != nil) != tt.mtls {
					t.Errorf("client certificates required %v, want %v", ctx.GetRequireClientCertificate(), tt.mtls)
				}
			}
			files, err := SecretFiles(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != len(tt.files) {
				t.Fatalf("%d secret files, want %v", len(files), tt.files)
			}
			for i, f := range files {
				if f.Name != tt.files[i] {
					t.Errorf("file %d is %s, want %s", i, f.Name, tt.files[i])
				}
				// The files name the PEM files; Envoy reads them itself.
				for _, want := range []string{"filename: /", "'@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"} {
					if !strings.Contains(string(f.Data), want) {
						t.Errorf("%s lacks %q:\n%s", f.Name, want, f.Data)
					}
				}
			}
		})
	}
}

// The internal socket serves the same routes and filters as the listener,
// in plain HTTP, to the socket's owner only.
func TestInternalSocket(t *testing.T) {
	p := baseParams(t)
	p.TLSCertFile, p.TLSKeyFile, p.TLSClientCAFile, p.SecretsDir = "/c.pem", "/k.pem", "/ca.pem", "/run/envoy"
	p.InternalSocket = "/run/mcpgw/gateway.sock"
	b, err := Bootstrap(p)
	if err != nil {
		t.Fatal(err)
	}
	ls := b.StaticResources.Listeners
	if len(ls) != 2 {
		t.Fatalf("%d listeners, want 2", len(ls))
	}
	pub, internal := ls[0], ls[1]
	if internal.Name != InternalListenerName || internal.GetAddress().GetPipe().GetPath() != p.InternalSocket || internal.GetAddress().GetPipe().GetMode() != 0o600 {
		t.Errorf("internal listener %s on %v", internal.Name, internal.GetAddress())
	}
	if pub.FilterChains[0].TransportSocket == nil || internal.FilterChains[0].TransportSocket != nil {
		t.Error("the listener must keep its TLS and the internal socket have none")
	}
	if !proto.Equal(pub.FilterChains[0].Filters[0], internal.FilterChains[0].Filters[0]) {
		t.Error("the internal socket's filters differ from the listener's (policy would differ)")
	}

	for _, bad := range []string{"gateway.sock", "/" + strings.Repeat("d", 110)} {
		p.InternalSocket = bad
		if _, err := Bootstrap(p); err == nil || !strings.Contains(err.Error(), "Params.InternalSocket") {
			t.Errorf("InternalSocket %q: error %v", bad, err)
		}
	}
}
