package extproc

import (
	"errors"
	"io"
	"log/slog"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/mcpgw/mcpgw/envoy/decisionlog"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// The calls Envoy's fast path decided never reach the ext_proc service;
// their entries come, in batches after the decision, to this access log
// service (Envoy's gRPC ALS), which writes their decision lines: from the
// gateway's Envoy dynamic module (envoy/decisionlog.Sender), or from
// Envoy's own gRPC access logger with the Lua engine (envoy/fastpath.lua).
// It lives here, beside the ext_proc service, because it stands in for it
// on those calls: the same Envoy cluster (wellknown.ExtProcCluster) and
// gRPC server, and the same dynamic metadata namespace
// (wellknown.MetadataNamespace) read back, rather than a cluster, port and
// server of its own. The gateway serves it only with the fast path on
// (WithEnvoyDecisions).
//
// Messages are read with decisionlog.Read, not protobuf's decoding, which
// refuses a whole batch for one string that is not UTF-8 (Envoy copies a
// client's x-request-id into its entry as sent).

// EnvoyDecisions writes and counts the decisions Envoy made
// (policy.Engine.LogDecidedByEnvoy).
type EnvoyDecisions interface {
	LogDecidedByEnvoy(req policy.Request)
}

var _ EnvoyDecisions = (*policy.Engine)(nil)

// WithEnvoyDecisions makes Register add the access log service, which
// hands d each call Envoy's fast path decided.
func WithEnvoyDecisions(d EnvoyDecisions) Option {
	return func(s *Server) { s.accessLog = &AccessLogServer{decisions: d, log: s.log} }
}

// maxLoggedField bounds each name an entry brings into a decision line;
// Envoy sends names the gateway gave it (grants, route metadata), so a
// longer one is not Envoy's.
const maxLoggedField = 1024

// AccessLogServer is Envoy's AccessLogService for the fast path's entries
// (log name wellknown.FastPathLogName). An entry is only logged and
// counted: nothing in it decides anything.
type AccessLogServer struct {
	decisions EnvoyDecisions
	log       *slog.Logger
}

// accessLogService is the service's descriptor (Envoy's als.proto) with a
// handler that takes each message as it came (accessLogStream).
var accessLogService = grpc.ServiceDesc{
	ServiceName: "envoy.service.accesslog.v3.AccessLogService",
	HandlerType: (*interface{ accessLogStream(grpc.ServerStream) error })(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    "StreamAccessLogs",
		Handler:       func(srv any, stream grpc.ServerStream) error { return srv.(*AccessLogServer).accessLogStream(stream) },
		ClientStreams: true,
	}},
	Metadata: "envoy/service/accesslog/v3/als.proto",
}

// accessLogStream reads one logger's stream of entry batches; the first
// message names the logger, and the entries of any other logger are
// ignored.
func (a *AccessLogServer) accessLogStream(stream grpc.ServerStream) error {
	ours := false
	for first := true; ; first = false {
		// Every field is unknown to Empty: it keeps the message's bytes
		// as they came, unchecked (ProtoReflect().GetUnknown()).
		raw := &emptypb.Empty{}
		if err := stream.RecvMsg(raw); err != nil {
			if errors.Is(err, io.EOF) {
				return stream.SendMsg(&accesslogv3.StreamAccessLogsResponse{})
			}
			if status.Code(err) == codes.Canceled || stream.Context().Err() != nil {
				return nil
			}
			return err
		}
		msg, err := decisionlog.Read(raw.ProtoReflect().GetUnknown())
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		if first {
			ours = msg.LogName == wellknown.FastPathLogName
			if !ours {
				a.log.Warn("access log stream of an unknown logger ignored", "log_name", clip(msg.LogName))
			}
		}
		if !ours {
			continue
		}
		for _, e := range msg.Entries {
			if req, ok := decidedByEnvoy(e); ok {
				a.decisions.LogDecidedByEnvoy(req)
			}
		}
	}
}

// decidedByEnvoy is the decision of an entry whose call Envoy's fast path
// decided (decided_by "envoy" and a tools/call, as the fast path writes
// them); ok is false for any other entry.
func decidedByEnvoy(e decisionlog.LoggedEntry) (policy.Request, bool) {
	str := func(key string) string { return clip(e.Metadata[key]) }
	if str("decided_by") != wellknown.FastPathDecidedBy || str("mcp_method") != "tools/call" {
		return policy.Request{}, false
	}
	id := clip(e.RequestID)
	return policy.Request{
		Principal: &identity.Principal{ID: str("key_alias"), Team: str("key_team"), Org: str("key_org")},
		Method:    "tools/call",
		Server:    str("server"),
		Kind:      policy.KindTool,
		Name:      str("tool"),
		Header: func(name string) string {
			if name == policy.RequestIDHeader {
				return id
			}
			return ""
		},
	}, true
}

// clip cuts s to maxLoggedField bytes.
func clip(s string) string {
	if len(s) > maxLoggedField {
		return s[:maxLoggedField]
	}
	return s
}

// register adds the access log service to g, when the server has one.
func (a *AccessLogServer) register(g grpc.ServiceRegistrar) {
	if a != nil {
		g.RegisterService(&accessLogService, a)
	}
}
