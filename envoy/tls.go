package envoy

import (
	"net/netip"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

const tlsSocketName = "envoy.transport_sockets.tls"

// tlsTransportSocket verifies the upstream against caFile and checks that
// its certificate names host (Envoy checks no name unless told to). SNI is
// the host name; an IP host sends no SNI (RFC 6066 forbids IP literals)
// and is matched against the certificate's IP SANs.
func tlsTransportSocket(host, caFile string) (*corev3.TransportSocket, error) {
	san := &tlsv3.SubjectAltNameMatcher{
		SanType: tlsv3.SubjectAltNameMatcher_DNS,
		Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: host}},
	}
	sni := host
	if addr, err := netip.ParseAddr(host); err == nil {
		san.SanType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
		san.Matcher.MatchPattern = &matcherv3.StringMatcher_Exact{Exact: addr.String()}
		sni = ""
	}
	ctx, err := typed("upstream tls context", &tlsv3.UpstreamTlsContext{
		Sni: sni,
		CommonTlsContext: &tlsv3.CommonTlsContext{
			ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{
				ValidationContext: &tlsv3.CertificateValidationContext{
					TrustedCa: &corev3.DataSource{
						Specifier: &corev3.DataSource_Filename{Filename: caFile},
					},
					MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
				},
			},
		},
	})
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{
		Name:       tlsSocketName,
		ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: ctx},
	}, nil
}
