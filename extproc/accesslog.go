package extproc

import (
	"errors"
	"io"
	"log/slog"

	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/policy/identity"
)

// The calls Envoy's fast path decided (envoy/fastpath.lua) never reach
// the ext_proc service; Envoy sends their access log entries, in batches
// after the answer, to this access log service (Envoy's gRPC ALS), which
// writes their decision lines. It lives here, beside the ext_proc
// service, because it stands in for it on those calls: the same Envoy
// cluster (wellknown.ExtProcCluster) and gRPC server, and the same
// dynamic metadata namespace (wellknown.MetadataNamespace) read back,
// rather than a cluster, port and server of its own. The gateway serves
// it only with the fast path on (WithEnvoyDecisions).

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

// AccessLogServer implements Envoy's AccessLogService for the fast path's
// access logger (wellknown.FastPathLogName). An entry is only logged and
// counted: nothing in it decides anything.
type AccessLogServer struct {
	accesslogv3.UnimplementedAccessLogServiceServer

	decisions EnvoyDecisions
	log       *slog.Logger
}

// StreamAccessLogs reads one logger's stream of entry batches; the first
// message names the logger, and the entries of any other logger are
// ignored.
func (a *AccessLogServer) StreamAccessLogs(stream accesslogv3.AccessLogService_StreamAccessLogsServer) error {
	ours := false
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return stream.SendAndClose(&accesslogv3.StreamAccessLogsResponse{})
			}
			if status.Code(err) == codes.Canceled || stream.Context().Err() != nil {
				return nil
			}
			return err
		}
		if first {
			ours = msg.GetIdentifier().GetLogName() == wellknown.FastPathLogName
			if !ours {
				a.log.Warn("access log stream of an unknown logger ignored", "log_name", clip(msg.GetIdentifier().GetLogName()))
			}
		}
		if !ours {
			continue
		}
		for _, e := range msg.GetHttpLogs().GetLogEntry() {
			if req, ok := decidedByEnvoy(e); ok {
				a.decisions.LogDecidedByEnvoy(req)
			}
		}
	}
}

// decidedByEnvoy is the decision of an entry whose call Envoy's fast path
// decided (decided_by "envoy" and a tools/call, as fastpath.lua writes
// them); ok is false for any other entry.
func decidedByEnvoy(e *accesslogdatav3.HTTPAccessLogEntry) (policy.Request, bool) {
	md := e.GetCommonProperties().GetMetadata().GetFilterMetadata()[wellknown.MetadataNamespace].GetFields()
	str := func(key string) string {
		v, ok := md[key].GetKind().(*structpb.Value_StringValue)
		if !ok {
			return ""
		}
		return clip(v.StringValue)
	}
	if str("decided_by") != wellknown.FastPathDecidedBy || str("mcp_method") != "tools/call" {
		return policy.Request{}, false
	}
	id := clip(e.GetRequest().GetRequestId())
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
		accesslogv3.RegisterAccessLogServiceServer(g, a)
	}
}
