package envoy

import (
	"fmt"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// JSON-RPC error codes used in Envoy's local replies.
const (
	codeInvalidRequest = -32600
	codeInternalError  = -32603
)

// keepOwnReplyExpr matches local replies that already carry a content-type.
//
// Envoy builds a local reply as: status → headers from the sender (for
// ext_proc, ImmediateResponse.headers) → local_reply_config rewrite → set
// content-type only if still unset. Envoy's own replies (413, router 503,
// ext_proc gRPC failures) therefore have no content-type while the mappers
// run, whereas our ext_proc's ImmediateResponse sets application/json. The
// first mapper matches those and rewrites nothing; since no global
// body_format is configured, their body and content-type pass unchanged.
const keepOwnReplyExpr = "'content-type' in response.headers"

const celFilterName = "envoy.access_loggers.extension_filters.cel"

// upstreamRouteExpr matches replies on a route to an upstream server
// (routeConfig): its metadata names the server.
const upstreamRouteExpr = "'" + routeMetadataNamespace + "' in xds.route_metadata.filter_metadata"

// Response flags of an upstream that went away or could not be reached
// on a route to it (the connection failed, was reset or closed, no host
// was healthy, or it did not speak HTTP): Envoy answers 503 (502 for
// UPE), the gateway 502 naming the server, as when it cannot open the
// upstream's session.
var upstreamGoneFlags = []string{"UF", "UR", "UC", "UH", "URX", "UPE"}

// localReplyConfig turns Envoy's own error replies into JSON-RPC errors
// (content-type application/json, "id": null). Mappers are tried in order
// and the first match wins. %RESPONSE_CODE_DETAILS% is Envoy's short reason
// (e.g. "cluster_not_found", "ext_proc_error_gRPC_error_14{...}"); it names
// no headers or bodies, so no secrets leak. Replies on an upstream's route
// name the server, from the route's metadata. requestTimeout is the HCM's
// request_timeout, for its 408's message.
func localReplyConfig(requestTimeout string) (*hcmv3.LocalReplyConfig, error) {
	keepOwn, err := celFilter(keepOwnReplyExpr)
	if err != nil {
		return nil, err
	}
	onUpstream, err := celFilter(upstreamRouteExpr)
	if err != nil {
		return nil, err
	}
	// The formatter writes the string without quotes.
	server := `"%METADATA(ROUTE:` + routeMetadataNamespace + `:server)%"`
	timedOut, err := jsonRPCError(codeInternalError, "upstream MCP server "+server+" did not answer within its timeout of %METADATA(ROUTE:"+routeMetadataNamespace+":timeout)%")
	if err != nil {
		return nil, err
	}
	gone, err := jsonRPCError(codeInternalError, "upstream MCP server "+server+" is unavailable (%RESPONSE_CODE_DETAILS%)")
	if err != nil {
		return nil, err
	}
	slowRequest, err := jsonRPCError(codeInvalidRequest, "request not received in time (%RESPONSE_CODE_DETAILS%; the whole request must arrive within "+requestTimeout+")")
	if err != nil {
		return nil, err
	}
	tooLarge, err := jsonRPCError(codeInvalidRequest, "request body too large")
	if err != nil {
		return nil, err
	}
	gateway, err := jsonRPCError(codeInternalError, "gateway error: %RESPONSE_CODE_DETAILS%")
	if err != nil {
		return nil, err
	}
	invalid, err := jsonRPCError(codeInvalidRequest, "invalid request: %RESPONSE_CODE_DETAILS%")
	if err != nil {
		return nil, err
	}
	return &hcmv3.LocalReplyConfig{Mappers: []*hcmv3.ResponseMapper{
		{Filter: keepOwn},
		{Filter: and(flagFilter("UT"), onUpstream), BodyFormatOverride: timedOut},
		{Filter: and(flagFilter(upstreamGoneFlags...), onUpstream), StatusCode: wrapperspb.UInt32(502), BodyFormatOverride: gone},
		{Filter: statusFilter(accesslogv3.ComparisonFilter_EQ, 408), BodyFormatOverride: slowRequest},
		{Filter: statusFilter(accesslogv3.ComparisonFilter_EQ, 413), BodyFormatOverride: tooLarge},
		{Filter: statusFilter(accesslogv3.ComparisonFilter_GE, 500), BodyFormatOverride: gateway},
		{Filter: statusFilter(accesslogv3.ComparisonFilter_GE, 400), BodyFormatOverride: invalid},
	}}, nil
}

func celFilter(expr string) (*accesslogv3.AccessLogFilter, error) {
	cfg, err := typed("cel access log filter", &celv3.ExpressionFilter{Expression: expr})
	if err != nil {
		return nil, err
	}
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{
		ExtensionFilter: &accesslogv3.ExtensionFilter{
			Name:       celFilterName,
			ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: cfg},
		},
	}}, nil
}

func flagFilter(flags ...string) *accesslogv3.AccessLogFilter {
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ResponseFlagFilter{
		ResponseFlagFilter: &accesslogv3.ResponseFlagFilter{Flags: flags},
	}}
}

func and(filters ...*accesslogv3.AccessLogFilter) *accesslogv3.AccessLogFilter {
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_AndFilter{
		AndFilter: &accesslogv3.AndFilter{Filters: filters},
	}}
}

func statusFilter(op accesslogv3.ComparisonFilter_Op, code uint32) *accesslogv3.AccessLogFilter {
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_StatusCodeFilter{
		StatusCodeFilter: &accesslogv3.StatusCodeFilter{Comparison: &accesslogv3.ComparisonFilter{
			Op: op,
			Value: &corev3.RuntimeUInt32{
				DefaultValue: code,
				RuntimeKey:   fmt.Sprintf("mcpgw.local_reply.status_%s_%d", accesslogv3.ComparisonFilter_Op_name[int32(op)], code),
			},
		}},
	}}
}

// jsonRPCError is a body format rendering {"jsonrpc":"2.0","id":null,
// "error":{"code":code,"message":message}}; Envoy's JSON formatter escapes
// substituted values and sets content-type application/json.
func jsonRPCError(code int, message string) (*corev3.SubstitutionFormatString, error) {
	body, err := structpb.NewStruct(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": message},
	})
	if err != nil {
		return nil, fmt.Errorf("envoy: local reply body: %w", err)
	}
	return &corev3.SubstitutionFormatString{
		Format:      &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: body},
		ContentType: "application/json",
	}, nil
}
