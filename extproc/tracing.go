package extproc

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/internal/telemetry"
)

// instrumentationName names the tracer of the ext_proc service.
const instrumentationName = "github.com/mcpgw/mcpgw/extproc"

// WithTracing makes one span per MCP request (POST) with tp, following
// the OpenTelemetry MCP semantic conventions (docs/operations.md,
// "Traces"), and carries the span's context to routed calls' upstreams
// with p: in the traceparent header and in params._meta. Without it (or
// with a nil tp) the service makes no spans and changes no body for
// them.
func WithTracing(tp trace.TracerProvider, p propagation.TextMapPropagator) Option {
	return func(s *Server) {
		if tp == nil || p == nil {
			return
		}
		s.tracer = tp.Tracer(instrumentationName)
		s.propagator = p
	}
}

// requestTrace is one request's part of requestState.
type requestTrace struct {
	// parent is the context the span joins: Envoy's (the ext_proc
	// stream's gRPC metadata), else the request's headers'.
	parent context.Context
	span   trace.Span
	// status is the HTTP status of the answer, once known.
	status int
	// request is set when the body is a JSON-RPC request (not a response
	// or a notification): only a request's params._meta gets the context.
	request bool
}

// event notes something that happened to the request on its span, if it
// has one (the upstream lost its session, the call was replayed).
func (t *requestTrace) event(name string) {
	if t.span != nil {
		t.span.AddEvent(name)
	}
}

// metadataCarrier reads a gRPC stream's incoming metadata.
type metadataCarrier metadata.MD

func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c metadataCarrier) Set(string, string) {}
func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// traceParent picks the context a request's span joins: the ext_proc
// stream's (Envoy's own span, when Envoy traces), else the request's
// traceparent header.
func (s *Server) traceParent(ctx context.Context, h router.Headers) context.Context {
	base := context.WithoutCancel(ctx)
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if p := s.propagator.Extract(base, metadataCarrier(md)); trace.SpanContextFromContext(p).IsValid() {
			return p
		}
	}
	return s.propagator.Extract(base, propagation.MapCarrier(h))
}

// startSpan starts st's span, once: at the body phase (body and method
// known), else when the request ends.
func (s *Server) startSpan(st *requestState, method string, body []byte) {
	if s.tracer == nil || !st.metrics.post || st.trace.span != nil {
		return
	}
	parent := st.trace.parent
	if parent == nil {
		parent = context.Background()
	}
	var req telemetry.Request
	if body != nil {
		req = telemetry.ParseRequest(body)
	}
	req.Method = method
	st.trace.request = req.IsRequest()
	var links []trace.Link
	if meta := req.MetaCarrier(); len(meta) > 0 {
		mctx := s.propagator.Extract(context.Background(), meta)
		if sc := trace.SpanContextFromContext(mctx); sc.IsValid() {
			if trace.SpanContextFromContext(parent).IsValid() {
				// The client's context in params._meta, where Envoy or the
				// headers gave another: kept as a link.
				links = append(links, trace.Link{SpanContext: sc})
			} else {
				parent = mctx
			}
		}
	}
	attrs := append(req.Attributes(st.headers.Get), attribute.String("mcpgw.component", "extproc"))
	_, st.trace.span = s.tracer.Start(parent, req.SpanName(), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(st.metrics.start), trace.WithAttributes(attrs...), trace.WithLinks(links...))
}

// endSpan ends st's span with its outcome (the metrics' outcome).
func (s *Server) endSpan(st *requestState, outcome string) {
	s.startSpan(st, st.metrics.method, nil)
	span := st.trace.span
	if span == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String("mcpgw.outcome", outcome))
	if m := &st.metrics; m.server != "" {
		attrs = append(attrs, attribute.String("mcpgw.server", m.server))
		if m.tool != "" {
			attrs = append(attrs, attribute.String("mcpgw.tool", m.tool))
		}
	}
	if st.trace.status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", st.trace.status))
	}
	code, hasCode := st.meta.rpcError, st.meta.hasRPCError
	if hasCode {
		attrs = append(attrs, attribute.String("rpc.response.status_code", strconv.Itoa(code)))
	}
	errType, isErr := spanError(outcome, code, hasCode)
	if errType != "" {
		attrs = append(attrs, attribute.String("error.type", errType))
	}
	span.SetAttributes(attrs...)
	if isErr {
		span.SetStatus(codes.Error, errType)
	}
	span.End(trace.WithTimestamp(time.Now()))
}

// spanError maps a request's outcome (and the JSON-RPC error code of an
// answer the gateway gave) to the conventions' error.type, and whether
// the span's status is Error. A JSON-RPC error is typed by its code; a
// tool result with isError by tool_error; other failures by the outcome.
// The client's own mistakes (parse error, invalid request, unknown
// method, invalid params, resource not found, a denial) keep an unset
// status: the gateway did not fail.
func spanError(outcome string, code int, hasCode bool) (errorType string, isError bool) {
	switch outcome {
	case metrics.OutcomeOK:
		return "", false
	case metrics.OutcomeToolError:
		return "tool_error", true
	}
	if hasCode {
		switch code {
		case rpc.CodeParseError, rpc.CodeInvalidRequest, rpc.CodeMethodNotFound, rpc.CodeInvalidParams, -32002:
			return strconv.Itoa(code), false
		}
		return strconv.Itoa(code), outcome != metrics.OutcomeDenied
	}
	switch outcome {
	case metrics.OutcomeDenied, metrics.OutcomeClientError, metrics.OutcomeCancelled:
		return outcome, false
	}
	return outcome, true
}

// propagate carries st's span context to a routed call's upstream: in the
// traceparent (and tracestate) header and, for a request, in its
// params._meta, keeping every other _meta member. A response or a
// notification passed through, or a body that cannot take it (params
// not an object), goes unchanged.
func (s *Server) propagate(st *requestState, d *router.Decision, body []byte) {
	if s.tracer == nil || st.trace.span == nil || !st.trace.span.SpanContext().IsValid() {
		return
	}
	c := propagation.MapCarrier{}
	s.propagator.Inject(trace.ContextWithSpan(context.Background(), st.trace.span), c)
	if len(c) == 0 {
		return
	}
	for _, k := range c.Keys() {
		d.SetHeaders = setHeader(d.SetHeaders, k, c[k])
	}
	if !st.trace.request {
		return
	}
	if d.Body != nil {
		body = d.Body
	}
	out, err := rpc.WithMeta(body, c)
	if err != nil {
		s.log.Debug("trace context not put in params._meta", "request_id", st.requestID(), "error", err)
		return
	}
	d.Body = out
	d.SetHeaders = setHeader(d.SetHeaders, "content-length", strconv.Itoa(len(out)))
}

// setHeader sets name in list, replacing an earlier value.
func setHeader(list []router.Header, name, value string) []router.Header {
	for i := range list {
		if list[i].Name == name {
			list[i].Value = value
			return list
		}
	}
	return append(list, router.Header{Name: name, Value: value})
}
