package decisionlog

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// recorder is an access log service keeping the request ids of the
// entries it gets, and each stream's log name.
type recorder struct {
	accesslogv3.UnimplementedAccessLogServiceServer
	mu       sync.Mutex
	ids      []string
	logNames []string
}

func (r *recorder) StreamAccessLogs(stream accesslogv3.AccessLogService_StreamAccessLogsServer) error {
	for first := true; ; first = false {
		msg, err := stream.Recv()
		if err != nil {
			return nil
		}
		r.mu.Lock()
		if first {
			r.logNames = append(r.logNames, msg.GetIdentifier().GetLogName())
		}
		for _, e := range msg.GetHttpLogs().GetLogEntry() {
			r.ids = append(r.ids, e.GetRequest().GetRequestId())
		}
		r.mu.Unlock()
	}
}

func (r *recorder) got() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids), slices.Clone(r.logNames)
}

// serve runs access log service r on a loopback port, until the test
// ends, and returns its address.
func serve(t *testing.T, r accesslogv3.AccessLogServiceServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	accesslogv3.RegisterAccessLogServiceServer(g, r)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// refused is an address nothing listens on.
func refused(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestSenderSends(t *testing.T) {
	tests := []struct {
		name  string
		addrs func(t *testing.T, serving string) []string
	}{
		{"one address", func(_ *testing.T, a string) []string { return []string{a} }},
		{"the first address refuses", func(t *testing.T, a string) []string { return []string{refused(t), a} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			s, err := Start(tt.addrs(t, serve(t, r)), Options{FlushInterval: 10 * time.Millisecond, BatchSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var want []string
			for i := range 10 {
				id := strings.Repeat("r", i+1)
				want = append(want, id)
				if !s.Send(Entry{RequestID: id, Server: "wiki", Tool: "search"}) {
					t.Fatalf("Send(%s) dropped", id)
				}
			}
			waitFor(t, "the entries", func() bool { ids, _ := r.got(); return len(ids) >= len(want) })
			ids, names := r.got()
			if !slices.Equal(ids, want) {
				t.Errorf("request ids %q, want %q", ids, want)
			}
			if !slices.Equal(names, []string{wellknown.FastPathLogName}) {
				t.Errorf("streams named %q, want one named %q", names, wellknown.FastPathLogName)
			}
		})
	}
}

// The queue is bounded: Send never waits for the service, and what it
// drops is reported.
func TestSenderDropsWhenFull(t *testing.T) {
	var mu sync.Mutex
	var warnings []string
	s, err := Start([]string{refused(t)}, Options{QueueSize: 2, FlushInterval: time.Hour, BatchSize: 1000,
		Warn: func(msg string) { mu.Lock(); warnings = append(warnings, msg); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	start := time.Now()
	for range 1000 {
		if s.Send(Entry{RequestID: "r"}) {
			sent++
		}
	}
	if time.Since(start) > time.Second {
		t.Errorf("1000 Sends took %v: Send waited", time.Since(start))
	}
	if sent == 1000 {
		t.Fatal("nothing dropped with a queue of 2")
	}
	s.Close() // the last flush fails: nothing listens
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "decision log entries lost") || !strings.Contains(warnings[0], "access log service") {
		t.Errorf("warnings %q, want one about lost entries and the service", warnings)
	}
}

// A service that comes back gets the entries sent after it did.
func TestSenderReconnects(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	r1 := &recorder{}
	g1 := grpc.NewServer()
	accesslogv3.RegisterAccessLogServiceServer(g1, r1)
	go g1.Serve(lis)
	s, err := Start([]string{addr}, Options{FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send(Entry{RequestID: "before"})
	waitFor(t, "the first entry", func() bool { ids, _ := r1.got(); return len(ids) == 1 })
	g1.Stop()

	lis2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("address %s not free again: %v", addr, err)
	}
	r2 := &recorder{}
	g2 := grpc.NewServer()
	accesslogv3.RegisterAccessLogServiceServer(g2, r2)
	go g2.Serve(lis2)
	defer g2.Stop()
	// Entries sent while the stream breaks are lost; keep sending until
	// one arrives on the new server.
	waitFor(t, "an entry on the restarted service", func() bool {
		s.Send(Entry{RequestID: "after"})
		ids, names := r2.got()
		return len(ids) > 0 && ids[0] == "after" && len(names) == 1 && names[0] == wellknown.FastPathLogName
	})
}

// wantMessage is appendMessage's message built with go-control-plane's
// types: what the encoding must decode to.
func wantMessage(entries []Entry, first bool) *accesslogv3.StreamAccessLogsMessage {
	valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	str := func(s string) *structpb.Value { return structpb.NewStringValue(valid(s)) }
	var logs []*accesslogdatav3.HTTPAccessLogEntry
	for _, e := range entries {
		logs = append(logs, &accesslogdatav3.HTTPAccessLogEntry{
			CommonProperties: &accesslogdatav3.AccessLogCommon{Metadata: &corev3.Metadata{
				FilterMetadata: map[string]*structpb.Struct{wellknown.MetadataNamespace: {Fields: map[string]*structpb.Value{
					"decided_by": str(wellknown.FastPathDecidedBy),
					"mcp_method": str("tools/call"),
					"key_alias":  str(e.KeyAlias),
					"key_team":   str(e.Team),
					"key_org":    str(e.Org),
					"server":     str(e.Server),
					"tool":       str(e.Tool),
				}}},
			}},
			Request: &accesslogdatav3.HTTPRequestProperties{RequestId: valid(e.RequestID)},
		})
	}
	msg := &accesslogv3.StreamAccessLogsMessage{LogEntries: &accesslogv3.StreamAccessLogsMessage_HttpLogs{
		HttpLogs: &accesslogv3.StreamAccessLogsMessage_HTTPAccessLogEntries{LogEntry: logs},
	}}
	if first {
		msg.Identifier = &accesslogv3.StreamAccessLogsMessage_Identifier{Node: &corev3.Node{Id: nodeID}, LogName: wellknown.FastPathLogName}
	}
	return msg
}

func checkMessage(t *testing.T, entries []Entry, first bool) {
	t.Helper()
	got := &accesslogv3.StreamAccessLogsMessage{}
	if err := proto.Unmarshal(appendMessage(nil, entries, first), got); err != nil {
		t.Fatalf("the message does not decode: %v", err)
	}
	if want := wantMessage(entries, first); !proto.Equal(want, got) {
		t.Errorf("message:\n%s\nwant:\n%s", prototext.Format(got), prototext.Format(want))
	}
}

func TestAppendMessage(t *testing.T) {
	alice := Entry{RequestID: "r1", KeyAlias: "alice", Team: "docs", Org: "acme", Server: "wiki", Tool: "search"}
	many := make([]Entry, 300) // lengths of three varint bytes
	for i := range many {
		many[i] = alice
	}
	tests := []struct {
		name    string
		entries []Entry
		first   bool
	}{
		{"first message", []Entry{alice}, true},
		{"later message", []Entry{alice, {RequestID: "r2", Server: "wiki", Tool: "read"}}, false},
		{"empty fields", []Entry{{}}, false},
		{"long and unicode names", []Entry{{RequestID: strings.Repeat("x", 200), KeyAlias: "ålice", Tool: strings.Repeat("t", 20000)}}, true},
		{"300 entries", many, false},
		// A client's x-request-id may hold any byte Envoy lets through.
		{"request id not UTF-8", []Entry{{RequestID: "a\xff\xfeb", Tool: "t\xc3"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkMessage(t, tt.entries, tt.first) })
	}
}

func FuzzAppendMessage(f *testing.F) {
	f.Add("r1", "alice", "docs", "acme", "wiki", "search", true)
	f.Add("", "", "", "", "", strings.Repeat("é", 100), false)
	f.Fuzz(func(t *testing.T, id, alias, team, org, server, tool string, first bool) {
		e := Entry{RequestID: id, KeyAlias: alias, Team: team, Org: org, Server: server, Tool: tool}
		checkMessage(t, []Entry{e, e}, first)
	})
}

// stuck is an access log service that never reads its stream.
type stuck struct {
	accesslogv3.UnimplementedAccessLogServiceServer
}

func (stuck) StreamAccessLogs(stream accesslogv3.AccessLogService_StreamAccessLogsServer) error {
	<-stream.Context().Done()
	return nil
}

// A service that stops reading holds neither the sender nor Close (which
// Envoy calls on its own thread).
func TestSenderCloseWithAStuckService(t *testing.T) {
	s, err := Start([]string{serve(t, stuck{})}, Options{QueueSize: 100000, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// About 4 MB: far more than the connection's flow-control windows.
	long := strings.Repeat("x", 200)
	for i := range 20000 {
		s.Send(Entry{RequestID: strconv.Itoa(i), Tool: long})
	}
	time.Sleep(200 * time.Millisecond) // the sender is now blocked on the stream
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close still waiting after 30s with a service that does not read")
	}
}

// A request id is the client's header: an entry keeps MaxRequestID bytes
// of it, so a full queue stays small.
func TestSenderClipsRequestIDs(t *testing.T) {
	r := &recorder{}
	s, err := Start([]string{serve(t, r)}, Options{FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Send(Entry{RequestID: strings.Repeat("x", 60000)})
	waitFor(t, "the entry", func() bool { ids, _ := r.got(); return len(ids) == 1 })
	if ids, _ := r.got(); len(ids[0]) != MaxRequestID {
		t.Errorf("request id of %d bytes sent, want %d", len(ids[0]), MaxRequestID)
	}
}
