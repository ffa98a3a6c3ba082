package extproc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/metrics"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

// Sessions opens, lends and forgets upstream sessions for routed calls
// (sessions.Pool).
type Sessions interface {
	// Session returns the session a call of key uses; the caller must
	// Release it when the call is over.
	Session(ctx context.Context, key sessions.Key, up *upstreams.Upstream, protocolVersion string) (sessions.Session, error)
	// Release gives s back after the call's answer ended; Discard when
	// it did not (the upstream may still be running the request).
	Release(s sessions.Session)
	Discard(s sessions.Session)
	// Evict forgets a session the upstream lost.
	Evict(s sessions.Session)
	// Alive asks the upstream whether it still knows s.
	Alive(ctx context.Context, s sessions.Session) bool
	EndClient(clientSession string)
}

var _ Sessions = (*sessions.Pool)(nil)

// Server implements Envoy's ExternalProcessor service.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer

	// router decides every request; SetRouter replaces it while requests
	// run (each request keeps the one it loaded first).
	router   atomic.Pointer[router.Router]
	sessions Sessions
	replayer *Replayer
	metrics  Recorder
	// tracer makes the requests' spans; nil when tracing is off.
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	log        *slog.Logger
	// learnFast, when set, hears of every call Envoy's fast path could
	// have taken (see WithFastPathLearner).
	learnFast func(owner string, up *upstreams.Upstream, version string)
	// accessLog, when set, is served beside the ext_proc service (see
	// WithEnvoyDecisions).
	accessLog *AccessLogServer
}

// WithFastPathLearner makes the server tell learn of each tools/call it
// routed that Envoy's fast path could take next time: a call the upstream
// took without a session and at the client's version (a 2026-07-28 call
// to an upstream that speaks it, or an older client's call to an upstream
// that keeps no sessions), with no client credentials for the upstream.
// owner is the caller's key (identity.Principal.Owner), up the server the
// call went to, version the client's protocol version. learn must not
// block.
func WithFastPathLearner(learn func(owner string, up *upstreams.Upstream, version string)) Option {
	return func(s *Server) { s.learnFast = learn }
}

// Option configures a Server in New.
type Option func(*Server)

// WithReplayer enables the one transparent retry of a call whose upstream
// session was refused (see Replayer). Without it the client gets the
// upstream's 404 and must start a new session.
func WithReplayer(r *Replayer) Option { return func(s *Server) { s.replayer = r } }

// New returns a server routing with r. logger may be nil.
func New(r *router.Router, s Sessions, logger *slog.Logger, opts ...Option) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &Server{sessions: s, log: logger}
	srv.router.Store(r)
	for _, o := range opts {
		o(srv)
	}
	return srv
}

// SetRouter makes r decide every request that starts from now on (the
// gateway's servers changed); requests in flight finish with the router
// they started with, so no request sees two sets of servers.
func (s *Server) SetRouter(r *router.Router) { s.router.Store(r) }

// Router is the router new requests are decided by.
func (s *Server) Router() *router.Router { return s.router.Load() }

// Register adds the service, and the access log service when the server
// has one (WithEnvoyDecisions), to a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	extprocv3.RegisterExternalProcessorServer(g, s)
	s.accessLog.register(g)
}

// Process handles the message stream of one HTTP request.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	st := &requestState{router: s.router.Load()}
	// However the request ends, a leased upstream session goes back: to be
	// lent again if its answer ended, else closed (the client went away
	// mid-answer, or the gateway answered instead).
	defer s.release(st, false)
	// A request whose stream ends with no outcome recorded was given up
	// (by the client, or Envoy); one whose answer was being read keeps
	// the outcome of its headers.
	defer func() {
		if o := st.metrics.outcome; o != "" {
			s.record(st, o)
		} else {
			s.record(st, metrics.OutcomeCancelled)
		}
	}()
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if err != nil {
			// Envoy ends the stream (EOF or cancel) once it needs no more
			// replies; that is the normal end, not a failure.
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled || ctx.Err() != nil {
				return nil
			}
			return err
		}
		resp := s.handle(ctx, st, req)
		resp.DynamicMetadata = st.dynamicMetadata()
		if err := stream.Send(resp); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}
