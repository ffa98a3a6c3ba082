package extproc

import (
	"os"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkRoutedToolsCall is the Go side of one routed tools/call: the
// three ext_proc messages of testdata/routed-tools-call.txtar through
// Server.Process, with the decision cache warm, as in a steady load.
// Envoy's and gRPC's part is not in it (make bench measures the whole).
func BenchmarkRoutedToolsCall(b *testing.B) {
	b.Run("tracing off", func(b *testing.B) { benchmarkRoutedToolsCall(b, false) })
	// Every request sampled and recorded, then dropped (no processor): the
	// span, its attributes and the _meta rewrite, not the export.
	b.Run("tracing on", func(b *testing.B) { benchmarkRoutedToolsCall(b, true) })
}

func benchmarkRoutedToolsCall(b *testing.B, traced bool) {
	data, err := os.ReadFile("testdata/routed-tools-call.txtar")
	if err != nil {
		b.Fatal(err)
	}
	var reqs []*extprocv3.ProcessingRequest
	for _, s := range parseTxtar(data).sections {
		if !strings.HasPrefix(s.name, envoySends) {
			continue
		}
		req := &extprocv3.ProcessingRequest{}
		if err := unmarshalFixture(s.data, req); err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, req)
	}
	srv := fixtureServer(b)
	if traced {
		WithTracing(sdktrace.NewTracerProvider(),
			propagation.TraceContext{})(srv)
	}
	b.ReportAllocs()
	for b.Loop() {
		stream := &fixtureStream{ctx: b.Context(), in: reqs}
		if err := srv.Process(stream); err != nil {
			b.Fatal(err)
		}
		if len(stream.out) != len(reqs) {
			b.Fatalf("answered %d of %d", len(stream.out), len(reqs))
		}
	}
}
