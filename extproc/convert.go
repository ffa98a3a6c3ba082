package extproc

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterextprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/mcpgw/mcpgw/extproc/router"
)

// common turns a request decision into Envoy's CommonResponse. Headers go
// in raw_value only (Envoy ignores value, and both set is an error); the
// header mutation is always present because Envoy clears the route cache
// only when the reply carries one.
func common(d router.Decision) *extprocv3.CommonResponse {
	c := &extprocv3.CommonResponse{
		HeaderMutation:  mutation(d.SetHeaders, d.RemoveHeaders),
		ClearRouteCache: d.ClearRoute,
	}
	if d.Body != nil {
		c.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: d.Body}}
	}
	return c
}

func mutation(set []router.Header, remove []string) *extprocv3.HeaderMutation {
	m := &extprocv3.HeaderMutation{RemoveHeaders: remove}
	for _, h := range set {
		m.SetHeaders = append(m.SetHeaders, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: h.Name, RawValue: []byte(h.Value)},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return m
}

func immediate(r *router.Reply) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(r.Status)},
			Headers: mutation(r.Headers, nil),
			Body:    r.Body,
			Details: "mcpgw_reply",
		},
	}}
}

// streamResponse switches one request to a streamed response body, chunk
// by chunk: an event stream whose upstream requests get relayed ids, or
// an answer the router rewrites whole (collectedAnswer). Both body modes
// are set: Envoy copies them from an override whatever they are, and the
// request body is already done. It must be in the filter's
// allowed_override_modes.
var streamResponse = &filterextprocv3.ProcessingMode{
	RequestHeaderMode:   filterextprocv3.ProcessingMode_SEND,
	RequestBodyMode:     filterextprocv3.ProcessingMode_BUFFERED,
	RequestTrailerMode:  filterextprocv3.ProcessingMode_SKIP,
	ResponseHeaderMode:  filterextprocv3.ProcessingMode_SEND,
	ResponseBodyMode:    filterextprocv3.ProcessingMode_STREAMED,
	ResponseTrailerMode: filterextprocv3.ProcessingMode_SKIP,
}
