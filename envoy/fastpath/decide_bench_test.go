package fastpath

import (
	"testing"
	"time"
)

// BenchmarkDecide is the Go side of a fast call, without Envoy: the
// headers, then the body, of a 2026-07-28 call and of a 2025-11-25 call
// (without a session id: its check, an HMAC, is not in these figures).
func BenchmarkDecide(b *testing.B) {
	server, _ := testRoutes(b)
	body := []byte(echoCall)
	for _, bc := range []struct {
		name    string
		headers Headers
	}{
		{"2026-07-28", modern()},
		{"2025-11-25", older()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := server.Headers(bc.headers, time.Now())
				if p == nil || p.Body(body) == nil {
					b.Fatal("not decided")
				}
			}
		})
	}
}
