package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/mcpgw/mcpgw/extproc"
	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// extProcMessageSlack is what a message from Envoy may hold beyond the
// request body limit (see ServeExtProc).
const extProcMessageSlack = 4 << 20

// ServeExtProc serves the ext_proc service on lis until ctx ends, then
// stops gracefully (bounded, so long-lived SSE streams cannot hold it).
func ServeExtProc(ctx context.Context, lis net.Listener, svc *extproc.Server, maxBody int, log *slog.Logger) error {
	g := grpc.NewServer(
		// Envoy sends a request body whole in one message (at most
		// maxBody), and a response body the service asks for chunk by
		// chunk: the first chunk holds what arrived while the response
		// headers were with the service, up to Envoy's buffer limit
		// (maxBody, the listener's) plus one read from the upstream (up
		// to its connection buffer, 1 MiB). Measured on Envoy 1.40.0: a
		// 1.5 MB first chunk with the 1 MiB default.
		grpc.MaxRecvMsgSize(maxBody + extProcMessageSlack),
	)
	svc.Register(g)
	// Envoy's active health check of the ext_proc cluster asks this
	// (wellknown.ExtProcHealthService); it turns NOT_SERVING as the
	// service stops, so Envoy sees it going before the port closes.
	hs := health.NewServer()
	hs.SetServingStatus(wellknown.ExtProcHealthService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(lis) }()
	log.Info("ext_proc service listening", "address", lis.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	hs.Shutdown()
	done := make(chan struct{})
	go func() { g.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.Stop()
	}
	return nil
}

// ServeHTTP serves h on lis until ctx ends, then shuts down (bounded).
func ServeHTTP(ctx context.Context, lis net.Listener, h http.Handler, name string, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	log.Info(name+" listening", "address", lis.Addr().String())
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return nil
}
