package decisionlog

import (
	"bytes"
	"maps"
	"reflect"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	accesslogdatav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// envoyEntry is an entry as Envoy's access logger fills it: much the
// gateway does not read, around the decision's metadata.
func envoyEntry(requestID, userAgent string, meta map[string]any) *accesslogdatav3.HTTPAccessLogEntry {
	st, err := structpb.NewStruct(meta)
	if err != nil {
		panic(err)
	}
	other, _ := structpb.NewStruct(map[string]any{"decided_by": "not ours", "n": 1})
	return &accesslogdatav3.HTTPAccessLogEntry{
		CommonProperties: &accesslogdatav3.AccessLogCommon{
			SampleRate:               1,
			DownstreamRemoteAddress:  &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 4242}}}},
			TimeToLastUpstreamRxByte: durationpb.New(1234),
			UpstreamCluster:          "mcpgw_upstream_wiki",
			RouteName:                "fast_path_wiki",
			Metadata: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
				"envoy.other":               other,
				wellknown.MetadataNamespace: st,
			}},
		},
		ProtocolVersion: accesslogdatav3.HTTPAccessLogEntry_HTTP11,
		Request: &accesslogdatav3.HTTPRequestProperties{
			RequestMethod: corev3.RequestMethod_POST, Scheme: "http", Authority: "127.0.0.1:4000", Path: "/wiki/mcp",
			UserAgent: userAgent, RequestId: requestID, RequestHeadersBytes: 321,
		},
		Response: &accesslogdatav3.HTTPResponseProperties{ResponseCode: wrapperspb.UInt32(200), ResponseBodyBytes: 99},
	}
}

func envoyMessage(logName string, entries ...*accesslogdatav3.HTTPAccessLogEntry) *accesslogv3.StreamAccessLogsMessage {
	msg := &accesslogv3.StreamAccessLogsMessage{LogEntries: &accesslogv3.StreamAccessLogsMessage_HttpLogs{
		HttpLogs: &accesslogv3.StreamAccessLogsMessage_HTTPAccessLogEntries{LogEntry: entries},
	}}
	if logName != "" {
		msg.Identifier = &accesslogv3.StreamAccessLogsMessage_Identifier{Node: &corev3.Node{Id: "envoy", Cluster: "c"}, LogName: logName}
	}
	return msg
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// libraryRead is Read done with go-control-plane's types: what Read must
// agree with wherever protobuf can decode the message.
func libraryRead(msg *accesslogv3.StreamAccessLogsMessage) Message {
	m := Message{LogName: msg.GetIdentifier().GetLogName()}
	for _, e := range msg.GetHttpLogs().GetLogEntry() {
		le := LoggedEntry{RequestID: e.GetRequest().GetRequestId()}
		if st, ok := e.GetCommonProperties().GetMetadata().GetFilterMetadata()[wellknown.MetadataNamespace]; ok {
			le.Metadata = map[string]string{}
			for k, v := range st.GetFields() {
				if s, ok := v.GetKind().(*structpb.Value_StringValue); ok {
					le.Metadata[k] = s.StringValue
				}
			}
		}
		m.Entries = append(m.Entries, le)
	}
	return m
}

func sameMessage(a, b Message) bool {
	if a.LogName != b.LogName || len(a.Entries) != len(b.Entries) {
		return false
	}
	for i := range a.Entries {
		x, y := a.Entries[i], b.Entries[i]
		if x.RequestID != y.RequestID || !maps.Equal(x.Metadata, y.Metadata) || (x.Metadata == nil) != (y.Metadata == nil) {
			return false
		}
	}
	return true
}

func TestRead(t *testing.T) {
	decision := map[string]any{"decided_by": "envoy", "mcp_method": "tools/call", "key_alias": "alice", "server": "wiki", "tool": "search", "jsonrpc_id": "7", "n": 3.0, "ok": true}
	wantMeta := map[string]string{"decided_by": "envoy", "mcp_method": "tools/call", "key_alias": "alice", "server": "wiki", "tool": "search", "jsonrpc_id": "7"}
	// Envoy copies the client's bytes into the entry: a request id and a
	// user-agent that are not UTF-8, written over same-length
	// placeholders in the wire form (protobuf will not encode them).
	badID, badAgent := "id-\xff\xfe", "ua-\xc3("
	withBad := marshal(t, envoyMessage(wellknown.FastPathLogName,
		envoyEntry("r1", "go", decision), envoyEntry("id-\x01\x01", "ua-\x01(", decision), envoyEntry("r3", "go", decision)))
	withBad = bytes.Replace(withBad, []byte("id-\x01\x01"), []byte(badID), 1)
	withBad = bytes.Replace(withBad, []byte("ua-\x01("), []byte(badAgent), 1)
	if proto.Unmarshal(withBad, &accesslogv3.StreamAccessLogsMessage{}) == nil {
		t.Fatal("protobuf decoded the message with strings not UTF-8: the case tests nothing")
	}

	tests := []struct {
		name string
		wire []byte
		want Message
	}{
		{"Envoy's first message", marshal(t, envoyMessage(wellknown.FastPathLogName, envoyEntry("r1", "go", decision))),
			Message{LogName: wellknown.FastPathLogName, Entries: []LoggedEntry{{RequestID: "r1", Metadata: wantMeta}}}},
		{"a later message", marshal(t, envoyMessage("", envoyEntry("r1", "go", decision), envoyEntry("r2", "go", decision))),
			Message{Entries: []LoggedEntry{{RequestID: "r1", Metadata: wantMeta}, {RequestID: "r2", Metadata: wantMeta}}}},
		{"an entry without the namespace", marshal(t, envoyMessage("", &accesslogdatav3.HTTPAccessLogEntry{Request: &accesslogdatav3.HTTPRequestProperties{RequestId: "r1"}})),
			Message{Entries: []LoggedEntry{{RequestID: "r1"}}}},
		{"strings not UTF-8", withBad,
			Message{LogName: wellknown.FastPathLogName, Entries: []LoggedEntry{{RequestID: "r1", Metadata: wantMeta}, {RequestID: "id-\uFFFD", Metadata: wantMeta}, {RequestID: "r3", Metadata: wantMeta}}}},
		{"the module's message", appendMessage(nil, []Entry{{RequestID: "r1", KeyAlias: "alice", Team: "docs", Server: "wiki", Tool: "search"}}, true),
			Message{LogName: wellknown.FastPathLogName, Entries: []LoggedEntry{{RequestID: "r1", Metadata: map[string]string{
				"decided_by": "envoy", "mcp_method": "tools/call", "key_alias": "alice", "key_team": "docs", "key_org": "", "server": "wiki", "tool": "search"}}}}},
		{"empty", nil, Message{}},
		// A map entry's value given twice is merged, as protobuf does.
		{"a namespace's value in two parts", wire(fieldMessageHTTPLogs, wire(fieldHTTPLogsEntry, wire(fieldEntryCommon, wire(fieldCommonMetadata,
			wire(fieldMetadataFilter, str(fieldMapKey, wellknown.MetadataNamespace),
				wire(fieldMapVal, wire(fieldStructFields, str(fieldMapKey, "decided_by"), wire(fieldMapVal, str(fieldValueString, "envoy")))),
				wire(fieldMapVal, wire(fieldStructFields, str(fieldMapKey, "tool"), wire(fieldMapVal, str(fieldValueString, "t"))))))))),
			Message{Entries: []LoggedEntry{{Metadata: map[string]string{"decided_by": "envoy", "tool": "t"}}}}},
		{"a field's value in two parts", wire(fieldMessageHTTPLogs, wire(fieldHTTPLogsEntry, wire(fieldEntryCommon, wire(fieldCommonMetadata,
			wire(fieldMetadataFilter, str(fieldMapKey, wellknown.MetadataNamespace),
				wire(fieldMapVal, wire(fieldStructFields, str(fieldMapKey, "tool"), wire(fieldMapVal, str(fieldValueString, "t")), wire(fieldMapVal)))))))),
			Message{Entries: []LoggedEntry{{Metadata: map[string]string{"tool": "t"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(tt.wire)
			if err != nil {
				t.Fatal(err)
			}
			if !sameMessage(got, tt.want) {
				t.Errorf("Read = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// wire is a length-delimited field of parts, str a string field: hand-made
// messages protobuf's encoder would not write.
func wire(num protowire.Number, parts ...[]byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(parts, nil))
}

func str(num protowire.Number, s string) []byte { return wire(num, []byte(s)) }

func TestReadMalformed(t *testing.T) {
	good := marshal(t, envoyMessage(wellknown.FastPathLogName, envoyEntry("r1", "go", map[string]any{"decided_by": "envoy"})))
	for _, b := range [][]byte{good[:len(good)-1], good[:len(good)/2], {0xff}, {0x12, 0x05, 0x0a}} {
		if _, err := Read(b); err == nil {
			t.Errorf("Read(%q) = nil error, want one", b)
		}
	}
}

// Wherever protobuf decodes a message, Read reads what it does; wherever
// it does not, Read does not panic.
func FuzzRead(f *testing.F) {
	f.Add(marshal(f, envoyMessage(wellknown.FastPathLogName, envoyEntry("r1", "go", map[string]any{"decided_by": "envoy", "tool": "t", "n": 1}))))
	f.Add(appendMessage(nil, []Entry{{RequestID: "r", Tool: "t"}, {}}, true))
	f.Add(marshal(f, &accesslogv3.StreamAccessLogsMessage{LogEntries: &accesslogv3.StreamAccessLogsMessage_TcpLogs{}}))
	f.Add([]byte(strings.Repeat("\x12\x00", 10)))
	f.Add(wire(fieldMessageHTTPLogs, wire(fieldHTTPLogsEntry, wire(fieldEntryCommon, wire(fieldCommonMetadata,
		wire(fieldMetadataFilter, str(fieldMapKey, wellknown.MetadataNamespace),
			wire(fieldMapVal, wire(fieldStructFields, str(fieldMapKey, "a"), wire(fieldMapVal, str(fieldValueString, "x")), wire(fieldMapVal))),
			wire(fieldMapVal, wire(fieldStructFields, str(fieldMapKey, "b"), wire(fieldMapVal, str(fieldValueString, "y"))))))))))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Read(b)
		var msg accesslogv3.StreamAccessLogsMessage
		if proto.Unmarshal(b, &msg) != nil {
			return
		}
		if err != nil {
			t.Fatalf("Read: %v; protobuf decodes %v", err, &msg)
		}
		if want := libraryRead(&msg); !sameMessage(got, want) && !reflect.DeepEqual(got, want) {
			t.Fatalf("Read = %+v, protobuf reads %+v", got, want)
		}
	})
}
