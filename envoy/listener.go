package envoy

import (
	"fmt"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	grpcalsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/grpc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	reqwithoutqueryv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/formatter/req_without_query/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Names of the Envoy objects the bootstrap creates.
const (
	ListenerName = "mcpgw"
	// InternalListenerName is the listener on Params.InternalSocket.
	InternalListenerName = "mcpgw_internal"
	StatPrefix           = "mcpgw"

	hcmFilterName       = "envoy.filters.network.http_connection_manager"
	routerFilterName    = "envoy.filters.http.router"
	fileLoggerName      = "envoy.access_loggers.file"
	grpcLoggerName      = "envoy.access_loggers.http_grpc"
	reqWithoutQueryName = "envoy.formatter.req_without_query"
)

// SSEIdleTimeout bounds how long a stream may go without any bytes in either
// direction. SSE streams (GET listeners, long tools/call responses) can be
// quiet for minutes, so Envoy's 5 min default would cut them; disabling the
// timer entirely would let streams of vanished clients live forever. One
// hour is long enough for quiet SSE and still reclaims abandoned streams
// (clients resume with Last-Event-ID).
const SSEIdleTimeout = time.Hour

// requestHeadersTimeout bounds how long a client may take to send its
// request headers (slowloris protection); it does not affect streaming.
const requestHeadersTimeout = 10 * time.Second

// accessLogFormat is the JSON object written per request; see
// Params.AccessLog.
var accessLogFormat = map[string]any{
	"start_time":       "%START_TIME%",
	"method":           "%REQ(:METHOD)%",
	"path":             "%REQ_WITHOUT_QUERY(:PATH)%",
	"status":           "%RESPONSE_CODE%",
	"details":          "%RESPONSE_CODE_DETAILS%",
	"flags":            "%RESPONSE_FLAGS%",
	"upstream_cluster": "%UPSTREAM_CLUSTER%",
	"upstream_host":    "%UPSTREAM_HOST%",
	"duration_ms":      "%DURATION%",
	"bytes_received":   "%BYTES_RECEIVED%",
	"bytes_sent":       "%BYTES_SENT%",
	"mcp_name":         "%REQ(MCP-NAME)%",
	"request_id":       "%REQ(X-REQUEST-ID)%",
	"user_agent":       "%REQ(USER-AGENT)%",
	// Set by the ext_proc service (extproc.requestMeta): null when it
	// does not know (an unauthenticated request has no key alias; an
	// answer whose body it does not read has no error code or isError).
	"key_alias":     metadataField("key_alias"),
	"server":        metadataField("server"),
	"tool":          metadataField("tool"),
	"mcp_method":    metadataField("mcp_method"),
	"jsonrpc_error": metadataField("jsonrpc_error"),
	"is_error":      metadataField("is_error"),
	// "envoy" on the calls Envoy's fast path decided (envoy/fastpath.lua);
	// null on those ext_proc decided.
	"decided_by": metadataField("decided_by"),
}

// metadataField reads key of the ext_proc service's dynamic metadata.
func metadataField(key string) string {
	return "%DYNAMIC_METADATA(" + wellknown.MetadataNamespace + ":" + key + ")%"
}

// listeners are the gateway listener and, with Params.InternalSocket,
// the same routes and filters in plain HTTP on that socket.
func listeners(p Params) ([]*listenerv3.Listener, error) {
	lis, err := listener(p)
	if err != nil {
		return nil, err
	}
	if p.InternalSocket == "" {
		return []*listenerv3.Listener{lis}, nil
	}
	internal := proto.Clone(lis).(*listenerv3.Listener)
	internal.Name = InternalListenerName
	internal.Address = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: p.InternalSocket, Mode: 0o600}}}
	internal.EnableReusePort = nil
	for _, fc := range internal.FilterChains {
		fc.TransportSocket = nil
	}
	return []*listenerv3.Listener{lis, internal}, nil
}

func listener(p Params) (*listenerv3.Listener, error) {
	hcm, err := connectionManager(p)
	if err != nil {
		return nil, err
	}
	hcmAny, err := typed("http connection manager", hcm)
	if err != nil {
		return nil, err
	}
	tls, err := listenerTransportSocket(p)
	if err != nil {
		return nil, err
	}
	return &listenerv3.Listener{
		Name:    ListenerName,
		Address: socketAddress(p.ListenAddress, p.ListenPort),
		// Without SO_REUSEPORT a second Envoy (a second gateway) on a port
		// already served fails to bind instead of silently taking a share
		// of the new connections. The workers then accept from one socket.
		EnableReusePort: wrapperspb.Bool(false),
		// Together with the route's request_body_buffer_limit this makes
		// MaxRequestBodyBytes the 413 threshold; see routeConfig.
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(uint32(p.MaxRequestBodyBytes)),
		FilterChains: []*listenerv3.FilterChain{{
			TransportSocket: tls,
			Filters: []*listenerv3.Filter{{
				Name:       hcmFilterName,
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcmAny},
			}},
		}},
	}, nil
}

func connectionManager(p Params) (*hcmv3.HttpConnectionManager, error) {
	var filters []*hcmv3.HttpFilter
	if p.FastPath != nil {
		// Ahead of ext_proc: on the routes where they are on, they
		// decide whether ext_proc runs at all.
		fast, err := fastPathFilters(p.FastPath, p.ExtProcAddress)
		if err != nil {
			return nil, err
		}
		filters = append(filters, fast...)
	}
	if !p.NoExtProc {
		extProc, err := extProcFilter(p)
		if err != nil {
			return nil, err
		}
		// ext_proc must run first: it decides the route.
		filters = append(filters, &hcmv3.HttpFilter{Name: wellknown.ExtProcFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: extProc}})
	}
	// The ready path's filter comes after ext_proc, which its route
	// (readyRoute) turns off: a reply from a filter ahead of ext_proc
	// would still pass ext_proc's response side, and fail with it.
	ready, err := readyFilter()
	if err != nil {
		return nil, err
	}
	filters = append(filters, &hcmv3.HttpFilter{Name: healthCheckFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: ready}})
	router, err := typed("router filter", &routerv3.Router{})
	if err != nil {
		return nil, err
	}
	accessLog, err := accessLog(p.AccessLog)
	if err != nil {
		return nil, err
	}
	localReply, err := localReplyConfig(p.RequestTimeout.String())
	if err != nil {
		return nil, err
	}
	rc, err := routeConfig(p)
	if err != nil {
		return nil, err
	}
	accessLogs := []*accesslogv3.AccessLog{accessLog}
	if p.FastPath != nil && p.FastPath.Module == "" {
		fast, err := fastPathAccessLog()
		if err != nil {
			return nil, err
		}
		accessLogs = append(accessLogs, fast)
	}
	hcm := &hcmv3.HttpConnectionManager{
		CodecType:             hcmv3.HttpConnectionManager_AUTO,
		StatPrefix:            StatPrefix,
		RouteSpecifier:        &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc},
		StreamIdleTimeout:     durationpb.New(SSEIdleTimeout),
		RequestHeadersTimeout: durationpb.New(requestHeadersTimeout),
		// A request (a body shorter than its content-length, say) that
		// does not arrive whole in time is answered 408; the timer stops
		// once the request has gone upstream, so it does not limit
		// answers or event streams.
		RequestTimeout:   durationpb.New(p.RequestTimeout),
		AccessLog:        accessLogs,
		LocalReplyConfig: localReply,
		// The router must be last.
		HttpFilters: append(filters, &hcmv3.HttpFilter{Name: routerFilterName, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}),
	}
	if p.Tracing != nil {
		if hcm.Tracing, err = connectionTracing(p.Tracing); err != nil {
			return nil, err
		}
	}
	if p.XDSAddress != "" {
		// The route table comes over ADS (RDS), so routes change with the
		// upstream clusters while the listener stays as it is.
		hcm.RouteSpecifier = &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsConfigSource(),
			RouteConfigName: RouteConfigName,
		}}
	}
	return hcm, nil
}

func accessLog(path string) (*accesslogv3.AccessLog, error) {
	format, err := structpb.NewStruct(accessLogFormat)
	if err != nil {
		return nil, fmt.Errorf("envoy: access log format: %w", err)
	}
	withoutQuery, err := typed("req_without_query formatter", &reqwithoutqueryv3.ReqWithoutQuery{})
	if err != nil {
		return nil, err
	}
	cfg, err := typed("file access log", &filev3.FileAccessLog{
		Path: path,
		AccessLogFormat: &filev3.FileAccessLog_LogFormat{LogFormat: &corev3.SubstitutionFormatString{
			Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: format},
			// %REQ_WITHOUT_QUERY% is an extension and must be declared.
			Formatters: []*corev3.TypedExtensionConfig{{Name: reqWithoutQueryName, TypedConfig: withoutQuery}},
		}},
	})
	if err != nil {
		return nil, err
	}
	return &accesslogv3.AccessLog{
		Name:       fileLoggerName,
		ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: cfg},
	}, nil
}

// fastPathAccessLog sends the calls Envoy's fast path decided (and only
// those: a metadata filter on decided_by) to the ext_proc server's access
// log service, which writes their decision lines and counts them
// (extproc.AccessLogServer): ext_proc never sees these calls. Envoy
// buffers the entries and sends them in batches off the request path
// (about once a second by default), so a call does not wait for it. Only
// the Lua engine's: the module sends its own (fastPathFilters).
func fastPathAccessLog() (*accesslogv3.AccessLog, error) {
	cfg, err := typed("fast path access log", &grpcalsv3.HttpGrpcAccessLogConfig{
		CommonConfig: &grpcalsv3.CommonGrpcAccessLogConfig{
			LogName: wellknown.FastPathLogName,
			GrpcService: &corev3.GrpcService{
				TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
					ClusterName: wellknown.ExtProcCluster,
				}},
			},
			TransportApiVersion: corev3.ApiVersion_V3,
		},
	})
	if err != nil {
		return nil, err
	}
	return &accesslogv3.AccessLog{
		Name: grpcLoggerName,
		Filter: &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_MetadataFilter{
			MetadataFilter: &accesslogv3.MetadataFilter{
				Matcher: &matcherv3.MetadataMatcher{
					Filter: wellknown.MetadataNamespace,
					Path:   []*matcherv3.MetadataMatcher_PathSegment{{Segment: &matcherv3.MetadataMatcher_PathSegment_Key{Key: "decided_by"}}},
					Value:  &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{StringMatch: exact(FastPathDecidedBy)}},
				},
				// An entry without decided_by (ext_proc decided it) is
				// not sent.
				MatchIfKeyNotFound: wrapperspb.Bool(false),
			},
		}},
		ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: cfg},
	}, nil
}
