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
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 400 {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(sw.status)))
			if sw.status >= 500 {
				span.SetStatus(codes.Error, strconv.Itoa(sw.status))
			}
		}
	})
}

type readCloser struct {
	io.Reader
	io.Closer
}

// statusWriter remembers the status an answer was given.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush passes on, for event streams.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
