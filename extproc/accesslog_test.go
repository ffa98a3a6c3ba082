package extproc

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mcpgw/mcpgw/envoy/decisionlog"
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

// What the gateway's Envoy dynamic module sends (envoy/decisionlog, in
// place of Envoy's access logger) is read as Envoy's would be.
func TestAccessLogServiceReadsTheModulesEntries(t *testing.T) {
	d := &envoyDecisions{}
	g := grpc.NewServer()
	New(nil, nil, nil, WithEnvoyDecisions(d)).Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	s, err := decisionlog.Start([]string{lis.Addr().String()}, decisionlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Send(decisionlog.Entry{RequestID: "r1", KeyAlias: "alice", Team: "docs", Org: "acme", Server: "wiki", Tool: "search"})
	s.Send(decisionlog.Entry{RequestID: "r2", KeyAlias: "bob", Server: "wiki", Tool: "read"})
	s.Close() // sends what is queued
	want := "alice docs acme tools/call wiki search r1\nbob   tools/call wiki read r2"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d.mu.Lock()
		got := strings.Join(d.seen, "\n")
		d.mu.Unlock()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("decisions:\n%s\nwant:\n%s", got, want)
		}
	}
}

// rawCodec sends messages already encoded ([]byte), as Envoy's C++
// protobuf does without checking strings.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }
func (rawCodec) Name() string                         { return "proto" }

// Envoy copies a client's x-request-id into its entry byte for byte; one
// that is not UTF-8 (which protobuf's decoding refuses, with the whole
// batch) costs no call in the batch its decision line.
func TestAccessLogServiceStringsNotUTF8(t *testing.T) {
	d := &envoyDecisions{}
	conn := serveInMemory(t, New(nil, nil, nil, WithEnvoyDecisions(d)))
	msg, err := proto.Marshal(&accesslogv3.StreamAccessLogsMessage{
		Identifier: &accesslogv3.StreamAccessLogsMessage_Identifier{LogName: wellknown.FastPathLogName, Node: &corev3.Node{Id: "envoy"}},
		LogEntries: &accesslogv3.StreamAccessLogsMessage_HttpLogs{HttpLogs: &accesslogv3.StreamAccessLogsMessage_HTTPAccessLogEntries{
			LogEntry: []*accesslogdatav3.HTTPAccessLogEntry{fastEntry(t, "r1"), fastEntry(t, "r2-\x01\x01"), fastEntry(t, "r3")},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg = bytes.Replace(msg, []byte("r2-\x01\x01"), []byte("r2-\xff\xfe"), 1)
	stream, err := conn.NewStream(t.Context(), &grpc.StreamDesc{ClientStreams: true},
		"/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs", grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(msg); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := stream.RecvMsg(new([]byte)); err != nil {
		t.Fatalf("the service refused the batch: %v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	want := "alice docs acme tools/call wiki search r1\nalice docs acme tools/call wiki search r2-\uFFFD\nalice docs acme tools/call wiki search r3"
	if got := strings.Join(d.seen, "\n"); got != want {
		t.Errorf("decisions:\n%s\nwant:\n%s", got, want)
	}
}
