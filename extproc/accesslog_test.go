package extproc

import (
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/policy"
)

// envoyDecisions records what the access log service hands over.
type envoyDecisions struct {
	mu   sync.Mutex
	seen []string
}

func (d *envoyDecisions) LogDecidedByEnvoy(req policy.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, strings.Join([]string{req.Principal.ID, req.Principal.Team, req.Principal.Org, req.Method, req.Server, req.Name, req.Header(policy.RequestIDHeader)}, " "))
}

// dialAccessLog serves a Server built with opts and returns a client of
// its access log service.
func dialAccessLog(t *testing.T, opts ...Option) accesslogv3.AccessLogServiceClient {
	t.Helper()
	return accesslogv3.NewAccessLogServiceClient(serveInMemory(t, New(nil, nil, nil, opts...)))
}

// entry is an HTTP access log entry with meta in the gateway's namespace.
func entry(t *testing.T, requestID string, meta map[string]any) *accesslogdatav3.HTTPAccessLogEntry {
	t.Helper()
	st, err := structpb.NewStruct(meta)
	if err != nil {
		t.Fatal(err)
	}
	return &accesslogdatav3.HTTPAccessLogEntry{
		CommonProperties: &accesslogdatav3.AccessLogCommon{Metadata: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{wellknown.MetadataNamespace: st}}},
		Request:          &accesslogdatav3.HTTPRequestProperties{RequestId: requestID},
	}
}

func fastEntry(t *testing.T, id string) *accesslogdatav3.HTTPAccessLogEntry {
	return entry(t, id, map[string]any{"decided_by": "envoy", "mcp_method": "tools/call", "key_alias": "alice", "key_team": "docs", "key_org": "acme", "server": "wiki", "tool": "search", "jsonrpc_id": "1"})
}

func TestAccessLogService(t *testing.T) {
	tests := []struct {
		name    string
		logName string
		entries []*accesslogdatav3.HTTPAccessLogEntry
		want    []string
	}{
		{"fast path calls", wellknown.FastPathLogName,
			[]*accesslogdatav3.HTTPAccessLogEntry{fastEntry(t, "r1"), fastEntry(t, "r2")},
			[]string{"alice docs acme tools/call wiki search r1", "alice docs acme tools/call wiki search r2"}},
		{"entries ext_proc decided are not Envoy's decisions", wellknown.FastPathLogName,
			[]*accesslogdatav3.HTTPAccessLogEntry{
				entry(t, "r1", map[string]any{"mcp_method": "tools/call", "key_alias": "alice", "server": "wiki", "tool": "search"}),
				entry(t, "r2", map[string]any{"decided_by": "ext_proc", "mcp_method": "tools/call"}),
				entry(t, "r3", map[string]any{"decided_by": true, "mcp_method": "tools/call"}),
				entry(t, "r4", map[string]any{"decided_by": "envoy", "mcp_method": "tools/list"}),
				{},
			}, nil},
		{"another logger's entries", "other", []*accesslogdatav3.HTTPAccessLogEntry{fastEntry(t, "r1")}, nil},
		{"long names are clipped", wellknown.FastPathLogName,
			[]*accesslogdatav3.HTTPAccessLogEntry{entry(t, "r1", map[string]any{"decided_by": "envoy", "mcp_method": "tools/call", "key_alias": strings.Repeat("a", 5000), "server": "wiki", "tool": "t"})},
			[]string{strings.Repeat("a", maxLoggedField) + "   tools/call wiki t r1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &envoyDecisions{}
			client := dialAccessLog(t, WithEnvoyDecisions(d))
			stream, err := client.StreamAccessLogs(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// Envoy names the logger in the first message only.
			for i, e := range tt.entries {
				msg := &accesslogv3.StreamAccessLogsMessage{LogEntries: &accesslogv3.StreamAccessLogsMessage_HttpLogs{
					HttpLogs: &accesslogv3.StreamAccessLogsMessage_HTTPAccessLogEntries{LogEntry: []*accesslogdatav3.HTTPAccessLogEntry{e}},
				}}
				if i == 0 {
					msg.Identifier = &accesslogv3.StreamAccessLogsMessage_Identifier{LogName: tt.logName, Node: &corev3.Node{Id: "envoy"}}
				}
				if err := stream.Send(msg); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := stream.CloseAndRecv(); err != nil {
				t.Fatal(err)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if strings.Join(d.seen, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("decisions:\n%s\nwant:\n%s", strings.Join(d.seen, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Without WithEnvoyDecisions there is no access log service.
func TestAccessLogServiceOff(t *testing.T) {
	stream, err := dialAccessLog(t).StreamAccessLogs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("err = %v, want Unimplemented", err)
	}
}
