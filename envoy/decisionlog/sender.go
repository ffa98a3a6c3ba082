// Package decisionlog sends the calls the gateway's Envoy dynamic module
// decided (envoy/module) to the gateway's access log service
// (extproc.AccessLogServer), which writes their decision lines and counts
// them: ext_proc never sees those calls.
//
// It stands in for Envoy's gRPC access logger, which the Lua engine still
// uses: the module already holds everything a decision line needs when it
// decides, so it sends only that, in batches from a goroutine of its own,
// instead of Envoy building a whole access log entry on its worker thread
// and the gateway decoding it (about 50-80 µs of CPU per call together,
// docs/fast-path-experiments.md). The messages are the same service's
// (StreamAccessLogs, log name wellknown.FastPathLogName, the decision in
// the filter metadata of wellknown.MetadataNamespace), so the gateway
// reads both the same way.
package decisionlog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mcpgw/mcpgw/internal/wellknown"
)

// Entry is one call the fast path decided: what its decision line says.
type Entry struct {
	// RequestID is the request's x-request-id, as Envoy set it.
	RequestID string
	KeyAlias  string
	Team      string
	Org       string
	Server    string
	Tool      string
}

// MaxRequestID is how much of a request id an entry keeps.
const MaxRequestID = 1024

// Options tune a Sender; zero fields take the defaults.
type Options struct {
	// FlushInterval is how long an entry may wait for others before its
	// batch is sent (default 100ms).
	FlushInterval time.Duration
	// BatchSize is the most entries sent in one message (default 256).
	BatchSize int
	// QueueSize is how many entries may wait to be sent; Send drops the
	// ones beyond it, rather than hold Envoy's worker (default 16384).
	QueueSize int
	// Warn reports what went wrong (the gateway unreachable, entries
	// dropped), at most once per WarnInterval; nil reports nothing.
	Warn func(msg string)
	// WarnInterval defaults to 10s.
	WarnInterval time.Duration
}

func (o Options) withDefaults() Options {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 16384
	}
	if o.WarnInterval <= 0 {
		o.WarnInterval = 10 * time.Second
	}
	return o
}

// Sender sends entries to the access log service at one of its
// addresses, safe for concurrent use. Entries are lost, as Envoy's own
// access logger loses them, when the service cannot take them: the
// decision log is a record, and the calls were decided already.
type Sender struct {
	opts Options
	conn *grpc.ClientConn
	// pending are the entries not yet taken for sending. Send only
	// appends: waking the sending goroutine for each entry would cost a
	// call more than the entry (a futex wake-up on Envoy's worker), so
	// it takes them every FlushInterval, or once BatchSize are in (full).
	mu      sync.Mutex
	pending []Entry
	full    chan struct{}
	// dropped counts entries lost since the last warning.
	dropped  atomic.Int64
	lastWarn time.Time // run's own
	// stop ends run; abort ends whatever it is sending (Close, after
	// closeTimeout).
	stop, abort context.CancelFunc
	sendCtx     context.Context
	done        chan struct{}
	closing     sync.Once
}

// Start connects (lazily) to the access log service at addrs, host:port
// each, tried in order (gRPC's pick_first: the first that answers takes
// every entry until it fails), and sends the entries given to Send until
// Close.
func Start(addrs []string, opts Options) (*Sender, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("decisionlog: no address")
	}
	r := manual.NewBuilderWithScheme("mcpgw-decision-log")
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(state)
	conn, err := grpc.NewClient(r.Scheme()+":///access-log",
		grpc.WithResolvers(r), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("decisionlog: %w", err)
	}
	opts = opts.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	sendCtx, abort := context.WithCancel(context.Background())
	s := &Sender{opts: opts, conn: conn, full: make(chan struct{}, 1), stop: stop, abort: abort, sendCtx: sendCtx, done: make(chan struct{})}
	go s.run(ctx)
	return s, nil
}

// Send queues e without waiting; false when the queue is full (e is
// dropped, and counted in the next warning).
func (s *Sender) Send(e Entry) bool {
	// The request id is the client's header, up to Envoy's header limit:
	// a full queue of those would hold a gigabyte. The gateway keeps no
	// more of it than this either (extproc.maxLoggedField).
	if len(e.RequestID) > MaxRequestID {
		e.RequestID = e.RequestID[:MaxRequestID]
	}
	s.mu.Lock()
	if len(s.pending) >= s.opts.QueueSize {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	s.pending = append(s.pending, e)
	n := len(s.pending)
	s.mu.Unlock()
	if n == s.opts.BatchSize {
		select {
		case s.full <- struct{}{}:
		default:
		}
	}
	return true
}

// Close sends what is queued (waiting at most closeTimeout for the
// service) and stops. Entries sent after Close are dropped.
func (s *Sender) Close() {
	s.closing.Do(func() {
		s.stop()
		deadline := time.AfterFunc(closeTimeout, s.abort)
		<-s.done
		deadline.Stop()
		s.abort()
		s.conn.Close()
	})
}

const (
	// closeTimeout bounds Close.
	closeTimeout = time.Second
	// sendTimeout bounds opening a stream and sending one message: a
	// service that stops reading (or a connection gone dark) would hold
	// the goroutine, and with it every later entry, warning and Close.
	sendTimeout = 5 * time.Second
)

// take returns the pending entries, and gives Send spare for the next
// ones.
func (s *Sender) take(spare []Entry) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pending
	s.pending = spare[:0]
	return out
}

func (s *Sender) run(ctx context.Context) {
	defer close(s.done)
	var (
		stream       grpc.ClientStream
		cancelStream context.CancelFunc = func() {}
		tick                            = time.NewTicker(s.opts.FlushInterval)
		spare        []Entry
	)
	defer func() { cancelStream() }()
	defer tick.Stop()
	// bounded runs op with the stream's context cancelled if it takes
	// longer than sendTimeout.
	bounded := func(cancel context.CancelFunc, op func() error) error {
		watchdog := time.AfterFunc(sendTimeout, cancel)
		defer watchdog.Stop()
		return op()
	}
	// sendOnce sends entries on the current stream, opening one if
	// there is none; a failed stream is dropped.
	sendOnce := func(entries []Entry) (fresh bool, err error) {
		if stream == nil {
			fresh = true
			sctx, cancel := context.WithCancel(s.sendCtx)
			var st grpc.ClientStream
			err = bounded(cancel, func() (err error) {
				st, err = s.conn.NewStream(sctx, &streamAccessLogs, streamAccessLogsMethod, grpc.ForceCodecV2(rawCodec{}))
				return err
			})
			if err != nil {
				cancel()
				return fresh, err
			}
			stream, cancelStream = st, cancel
		}
		msg := appendMessage(nil, entries, fresh)
		if err = bounded(cancelStream, func() error { return stream.SendMsg(msg) }); err != nil {
			cancelStream()
			stream = nil
		}
		return fresh, err
	}
	send := func(entries []Entry) {
		fresh, err := sendOnce(entries)
		if err != nil && !fresh && s.sendCtx.Err() == nil {
			// The stream had ended (the service restarted, say): once
			// more on a new one.
			_, err = sendOnce(entries)
		}
		if err != nil {
			s.lost(len(entries), err)
		}
	}
	flush := func() {
		entries := s.take(spare)
		for rest := entries; len(rest) > 0; {
			n := min(len(rest), s.opts.BatchSize)
			send(rest[:n])
			rest = rest[n:]
		}
		clear(entries) // no strings kept alive
		spare = entries
		s.warnDropped()
	}
	for {
		select {
		case <-tick.C:
		case <-s.full:
		case <-ctx.Done():
			// Close bounds what follows (Sender.abort).
			flush()
			if stream != nil {
				// Until the service has read it all (it answers at the
				// end of the stream).
				if stream.CloseSend() == nil {
					stream.RecvMsg(new([]byte))
				}
			}
			return
		}
		flush()
	}
}

// lost counts n entries the service did not take and warns, at most once
// per WarnInterval.
func (s *Sender) lost(n int, err error) {
	s.dropped.Add(int64(n))
	s.warn(fmt.Sprintf("sending to the gateway's access log service: %v", err))
}

// warnDropped warns of entries dropped (a full queue) since the last
// warning.
func (s *Sender) warnDropped() {
	if s.dropped.Load() > 0 {
		s.warn("")
	}
}

func (s *Sender) warn(cause string) {
	if s.opts.Warn == nil || time.Since(s.lastWarn) < s.opts.WarnInterval {
		return
	}
	s.lastWarn = time.Now()
	n := s.dropped.Swap(0)
	msg := fmt.Sprintf("mcpgw fast path: %d decision log entries lost", n)
	if cause != "" {
		msg += "; " + cause
	}
	s.opts.Warn(msg)
}

// Envoy's access log service (envoy.service.accesslog.v3), client side:
// messages are encoded here (appendMessage), so the module carries no
// generated Envoy API packages (a registry of them cost Envoy about 8 MB
// of memory); TestAppendMessage holds the encoding to go-control-plane's
// types.
var streamAccessLogs = grpc.StreamDesc{StreamName: "StreamAccessLogs", ClientStreams: true}

const streamAccessLogsMethod = "/envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs"

// rawCodec sends a message encoded already ([]byte) and ignores the
// answer (an empty StreamAccessLogsResponse).
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("decisionlog: cannot send a %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(mem.BufferSlice, any) error { return nil }

// Name is the content subtype: the service's ("application/grpc+proto").
func (rawCodec) Name() string { return "proto" }

// Field numbers of the messages sent, from Envoy's API.
const (
	fieldMessageIdentifier   = 1  // StreamAccessLogsMessage.identifier
	fieldMessageHTTPLogs     = 2  // StreamAccessLogsMessage.http_logs
	fieldMessageTCPLogs      = 3  // StreamAccessLogsMessage.tcp_logs
	fieldIdentifierNode      = 1  // .Identifier.node
	fieldIdentifierLogName   = 2  // .Identifier.log_name
	fieldNodeID              = 1  // config.core.v3.Node.id
	fieldHTTPLogsEntry       = 1  // .HTTPAccessLogEntries.log_entry
	fieldEntryCommon         = 1  // data.accesslog.v3.HTTPAccessLogEntry.common_properties
	fieldEntryRequest        = 3  // HTTPAccessLogEntry.request
	fieldCommonMetadata      = 17 // AccessLogCommon.metadata
	fieldRequestID           = 9  // HTTPRequestProperties.request_id
	fieldMetadataFilter      = 1  // config.core.v3.Metadata.filter_metadata (map)
	fieldStructFields        = 1  // google.protobuf.Struct.fields (map)
	fieldValueString         = 3  // google.protobuf.Value.string_value
	fieldMapKey, fieldMapVal = 1, 2
)

// nodeID names the sender in the first message, where Envoy names its
// node.
const nodeID = "mcpgw-fast-path"

// appendMessage appends a StreamAccessLogsMessage of entries to b; the
// first message of a stream names the logger.
func appendMessage(b []byte, entries []Entry, first bool) []byte {
	if first {
		b = appendNested(b, fieldMessageIdentifier, func(b []byte) []byte {
			b = appendNested(b, fieldIdentifierNode, func(b []byte) []byte { return appendString(b, fieldNodeID, nodeID) })
			return appendString(b, fieldIdentifierLogName, wellknown.FastPathLogName)
		})
	}
	return appendNested(b, fieldMessageHTTPLogs, func(b []byte) []byte {
		for _, e := range entries {
			b = appendNested(b, fieldHTTPLogsEntry, e.appendEntry)
		}
		return b
	})
}

// appendEntry appends e as an HTTPAccessLogEntry's fields, as the
// gateway's access log service reads an entry of the fast path
// (extproc.decidedByEnvoy) and as the Lua engine's Envoy access logger
// sends it: the decision in the filter metadata of the gateway's
// namespace, the request id.
func (e Entry) appendEntry(b []byte) []byte {
	b = appendNested(b, fieldEntryCommon, func(b []byte) []byte {
		return appendNested(b, fieldCommonMetadata, func(b []byte) []byte {
			return appendNested(b, fieldMetadataFilter, func(b []byte) []byte {
				b = appendString(b, fieldMapKey, wellknown.MetadataNamespace)
				return appendNested(b, fieldMapVal, func(b []byte) []byte {
					for _, f := range [...]struct{ name, value string }{
						{"decided_by", wellknown.FastPathDecidedBy},
						{"mcp_method", "tools/call"},
						{"key_alias", e.KeyAlias},
						{"key_team", e.Team},
						{"key_org", e.Org},
						{"server", e.Server},
						{"tool", e.Tool},
					} {
						b = appendNested(b, fieldStructFields, func(b []byte) []byte {
							b = appendString(b, fieldMapKey, f.name)
							return appendNested(b, fieldMapVal, func(b []byte) []byte {
								// A oneof member: written even when empty.
								return appendString(b, fieldValueString, f.value)
							})
						})
					}
					return b
				})
			})
		})
	})
	return appendNested(b, fieldEntryRequest, func(b []byte) []byte { return appendString(b, fieldRequestID, e.RequestID) })
}

// appendString appends a string field. Protobuf strings are UTF-8, and
// the gateway refuses a message with one that is not (a request id is the
// client's header): such bytes become U+FFFD, as in the decision line's
// JSON.
func appendString(b []byte, field protowire.Number, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendNested appends a message field whose fields body appends.
func appendNested(b []byte, field protowire.Number, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	// The length goes before the body: encode the body after a
	// placeholder, then move it behind the real length.
	at := len(b)
	b = body(b)
	n := len(b) - at
	size := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, size)...)
	copy(b[at+size:], b[at:at+n])
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}
