package envoy

import (
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// NodeID is the bootstrap node id and cluster. The xDS server (package
// envoy/xds) serves its snapshot to this node.
const NodeID = "mcpgw"

// Bootstrap builds and validates the typed bootstrap for p.
func Bootstrap(p Params) (*bootstrapv3.Bootstrap, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	lis, err := listeners(p)
	if err != nil {
		return nil, err
	}
	clusters, err := staticClusters(p)
	if err != nil {
		return nil, err
	}
	b := &bootstrapv3.Bootstrap{
		Node: &corev3.Node{Id: NodeID, Cluster: NodeID},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{
			Listeners: lis,
			Clusters:  clusters,
		},
	}
	if p.XDSAddress != "" {
		b.DynamicResources = &bootstrapv3.Bootstrap_DynamicResources{
			AdsConfig: &corev3.ApiConfigSource{
				ApiType:             corev3.ApiConfigSource_DELTA_GRPC,
				TransportApiVersion: corev3.ApiVersion_V3,
				GrpcServices: []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
					EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: wellknown.XDSCluster},
				}}},
				SetNodeOnFirstMessageOnly: true,
			},
			CdsConfig: adsConfigSource(),
		}
	}
	if p.AdminPort != NoAdmin {
		b.Admin = &bootstrapv3.Admin{Address: socketAddress(p.AdminAddress, p.AdminPort)}
	}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("envoy: invalid bootstrap: %w", err)
	}
	return b, nil
}

// validator is implemented by every generated Envoy config message.
type validator interface {
	proto.Message
	ValidateAll() error
}

// typed validates m and packs it into an Any. ValidateAll on a parent does
// not look inside Any fields, so every typed config is checked here.
func typed(what string, m validator) (*anypb.Any, error) {
	if err := m.ValidateAll(); err != nil {
		return nil, fmt.Errorf("envoy: invalid %s: %w", what, err)
	}
	// Deterministic, so equal configs give equal bytes (xDS versions).
	a := new(anypb.Any)
	err := anypb.MarshalFrom(a, m, proto.MarshalOptions{Deterministic: true})
	if err != nil {
		return nil, fmt.Errorf("envoy: pack %s: %w", what, err)
	}
	return a, nil
}

// adsConfigSource is a resource (CDS, RDS) delivered on the ADS stream.
// initial_fetch_timeout 0 makes Envoy's initialization wait for it however
// long it takes: with the default 15 s Envoy would give up waiting and
// report ready with no upstream clusters or no routes at all.
func adsConfigSource() *corev3.ConfigSource {
	return &corev3.ConfigSource{
		ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
		ResourceApiVersion:    corev3.ApiVersion_V3,
		InitialFetchTimeout:   durationpb.New(0),
	}
}

func socketAddress(ip string, port int) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       ip,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)},
	}}}
}
