package telemetry

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mcpgw/mcpgw/internal/httpstatus"
)

// maxSpanBody is how much of a request body a span reads; a larger body
// (a call with big arguments) is still served whole, its span named by
// its method only if that is in the first part.
const maxSpanBody = 64 << 10

// MCPHandler gives every POST to next (a Streamable HTTP MCP endpoint) a
// SERVER span named as the OpenTelemetry MCP conventions say, a child of
// the request's traceparent (Envoy's), with component as mcpgw.component.
// The request's context carries the span. An answer's HTTP status is its
// outcome: a JSON-RPC error inside a 200 is not read. Tracing off, next
// is returned as is.
func (t *Tracing) MCPHandler(component string, next http.Handler) http.Handler {
	if !t.Enabled() {
		return next
	}
	tracer := t.Provider.Tracer("github.com/mcpgw/mcpgw/" + component)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		head, err := io.ReadAll(io.LimitReader(r.Body, maxSpanBody))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		req := ParseRequest(head)
		ctx := t.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		header := func(k string) string {
			if k == "host" {
				return r.Host // net/http moves it out of Header
			}
			return r.Header.Get(k)
		}
		attrs := append(req.Attributes(header), attribute.String("mcpgw.component", component))
		ctx, span := tracer.Start(ctx, req.SpanName(), trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		sw := httpstatus.Wrap(w)
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 400 {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
			if status >= 500 {
				span.SetStatus(codes.Error, strconv.Itoa(status))
			}
		}
	})
}

type readCloser struct {
	io.Reader
	io.Closer
}
