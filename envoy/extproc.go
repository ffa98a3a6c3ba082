package envoy

import (
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// extProcFilter configures the ext_proc HTTP filter.
//
//   - Request headers and the whole request body (BUFFERED) go to the
//     service, so it can route on the JSON-RPC body. In BUFFERED mode the
//     request headers are held until the body reply, so that reply can still
//     set x-mcp-cluster, :path and content-length.
//   - Response headers go to the service (session id mapping); response
//     bodies do not (NONE keeps SSE streaming through untouched).
//   - route_cache_action CLEAR: every request-path reply that carries a
//     header mutation makes Envoy pick the route again, so x-mcp-cluster
//     takes effect whether or not the reply sets clear_route_cache.
//   - failure_mode_allow false: if the service is down or times out, the
//     request fails (500, or 504 on message timeout) instead of bypassing
//     routing and policy.
//   - mutation_rules: the defaults allow everything we set or remove
//     (x-mcp-cluster, :path, content-length, mcp-session-id, mcp-name,
//     upstream auth headers) and refuse host/:authority/:method/:scheme and
//     x-envoy-*; we never set :authority (the route's auto_host_rewrite
//     does). disallow_is_error turns a refused mutation into a 500 instead
//     of a silent skip, so mistakes surface in tests. allow_envoy lets the
//     service remove x-envoy-* headers a client sent (Envoy passes unknown
//     ones upstream); it never sets any (package credentials).
func extProcFilter(p Params) (*anypb.Any, error) {
	return typed("ext_proc filter", &extprocv3.ExternalProcessor{
		GrpcService: &corev3.GrpcService{
			TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
				ClusterName: wellknown.ExtProcCluster,
			}},
		},
		FailureModeAllow: false,
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
			RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
			ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
		MessageTimeout:   durationpb.New(p.MessageTimeout),
		RouteCacheAction: extprocv3.ExternalProcessor_CLEAR,
		// The service's dynamic metadata (wellknown.MetadataNamespace) is
		// what the access log knows about a request's caller, server, tool
		// and JSON-RPC outcome; Envoy drops namespaces not listed here.
		MetadataOptions: &extprocv3.MetadataOptions{ReceivingNamespaces: &extprocv3.MetadataOptions_MetadataNamespaces{
			Untyped: []string{wellknown.MetadataNamespace},
		}},
		// The processor asks for a response body, streamed, only for
		// answers it rewrites: calls it translated between protocol
		// versions (a 2026-07-28 client on an older upstream),
		// resources/read on a prefixed scope, and event streams that may
		// carry upstream requests for a client on a prefixed scope. Never
		// BUFFERED: Envoy's buffer limit for a response is the listener's
		// (the request body limit), and an answer that outgrew it while the
		// response headers were with the processor stalled the stream
		// (seen on 1.40.0); the processor collects what it must see whole
		// itself, up to gateway.max_response_body_bytes.
		AllowModeOverride: true,
		// Envoy compares an override, merged with the filter's modes, to
		// this list (request_header_mode aside), so trailers are spelled out.
		AllowedOverrideModes: []*extprocv3.ProcessingMode{{
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
			RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
			ResponseBodyMode:    extprocv3.ProcessingMode_STREAMED,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		}},
		MutationRules: &mutationrulesv3.HeaderMutationRules{
			DisallowIsError: wrapperspb.Bool(true),
			AllowEnvoy:      wrapperspb.Bool(true),
		},
		StatPrefix: StatPrefix,
	})
}
