package extproc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/router"
	"github.com/mcpgw/mcpgw/internal/clientsession"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/policy"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

var update = flag.Bool("update", false, "rewrite the ProcessingResponses in testdata/*.txtar from what the service answers")

// Section names in a fixture: what Envoy sends, and what the service
// answers, each followed by the message's kind (its oneof field).
const (
	envoySends   = "envoy sends"
	mcpgwAnswers = "mcpgw answers"
)

// TestFixtures runs the ProcessingRequests of each testdata/*.txtar through
// the service and compares its ProcessingResponses with the fixture's
// (see testdata/README.md). With -update it rewrites the fixture instead.
func TestFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := parseTxtar(data)
			var reqs []*extprocv3.ProcessingRequest
			for _, s := range want.sections {
				if !strings.HasPrefix(s.name, envoySends) {
					continue
				}
				req := &extprocv3.ProcessingRequest{}
				if err := unmarshalFixture(s.data, req); err != nil {
					t.Fatalf("%s: section %q: %v", file, s.name, err)
				}
				reqs = append(reqs, req)
			}
			resps := runFixture(t, reqs)

			got := &txtar{comment: want.comment}
			for i, req := range reqs {
				got.add(envoySends+": "+kind(req), marshalFixture(t, req))
				got.add(mcpgwAnswers+": "+kind(resps[i]), marshalFixture(t, resps[i]))
				if resps[i].GetImmediateResponse() != nil && i < len(reqs)-1 {
					t.Fatalf("%s: message %d follows an immediate_response; Envoy sends nothing after one", file, i+2)
				}
			}
			if *update {
				if err := os.WriteFile(file, got.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if bytes.Equal(got.format(), data) {
				return
			}
			for i := range max(len(got.sections), len(want.sections)) {
				var g, w section
				if i < len(got.sections) {
					g = got.sections[i]
				}
				if i < len(want.sections) {
					w = want.sections[i]
				}
				if g.name != w.name || !bytes.Equal(g.data, w.data) {
					t.Fatalf("%s: section %d differs (go test ./extproc -run TestFixtures -update rewrites it)\n"+
						"got  -- %s --\n%s\nwant -- %s --\n%s", file, i+1, g.name, g.data, w.name, w.data)
				}
			}
			t.Fatalf("%s differs outside its sections (the comment?); -update rewrites it", file)
		})
	}
}

// runFixture sends reqs, one at a time as Envoy does, on one ext_proc
// stream of a fresh service and returns its answers.
func runFixture(t *testing.T, reqs []*extprocv3.ProcessingRequest) []*extprocv3.ProcessingResponse {
	t.Helper()
	stream := &fixtureStream{ctx: t.Context(), in: reqs}
	if err := fixtureServer(t).Process(stream); err != nil {
		t.Fatalf("Process: %v", err)
	}
	if len(stream.out) != len(reqs) {
		t.Fatalf("the service answered %d of %d messages", len(stream.out), len(reqs))
	}
	return stream.out
}

// fixtureConfig is the gateway the fixtures talk to: one upstream, demo,
// and one key, alice's, that may call demo's echo and nothing else.
const fixtureConfig = `
mcp_servers:
  demo: {url: "http://demo.internal:8080/mcp"}
access:
  decision_log: {output: "off"}
  keys:
    - {key_alias: alice, key: sk-alice, object_permission: {mcp_servers: [demo], mcp_tool_permissions: {demo: [echo]}}}
`

// fixtureSessionSecret seals the client session ids in the fixtures
// (gateway.session_secrets); the long TTL keeps those ids valid.
const (
	fixtureSessionSecret = "fixture secret"
	fixtureSessionTTL    = 100 * 365 * 24 * time.Hour
)

// fixtureServer builds the service as the gateway does (internal/gateway
// Build), from fixtureConfig, with everything that would be random made
// fixed: the session secret, hence the relay keys, and the upstream
// session ids (fixturePool).
func fixtureServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	return fixtureServerWith(t, &fixturePool{newest: map[string]string{"demo": "2025-11-25"}}, opts...)
}

// fixtureServerWith is fixtureServer with the upstream sessions of pool.
func fixtureServerWith(t testing.TB, pool Sessions, opts ...Option) *Server {
	t.Helper()
	cfg, err := configfile.Parse([]byte(fixtureConfig), "fixture.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	access, err := policy.New(t.Context(), cfg, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := clientsession.NewSealer([]string{fixtureSessionSecret}, fixtureSessionTTL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://demo.internal:8080/mcp")
	demo := &upstreams.Upstream{Alias: "demo", Transport: upstreams.TransportHTTP, URL: u, Cluster: upstreams.ClusterName("demo")}
	names, err := namespace.NewRegistry([]string{"demo"}, "-")
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(names, []*upstreams.Upstream{demo}, 1<<20,
		router.WithSessionCheck(func(id, owner string) (uint8, error) {
			caps, err := sealer.Open(id, owner)
			return uint8(caps), err
		}),
		router.WithRelayKeys(sealer.RelayKeys()),
		router.WithAuthorizer(access))
	if err != nil {
		t.Fatal(err)
	}
	return New(r, pool, nil, opts...)
}

// fixturePool stands for sessions.Pool: session ids are "<alias>-session-<n>",
// n counting the sessions it opened, and an upstream speaks every protocol
// version up to newest[alias] (a client of a newer one gets that one, as
// the real pool negotiates). Its sessions are never leased (the real
// pool's are, for clients without a session; nothing in the ext_proc
// messages of the fixtures depends on it).
type fixturePool struct {
	newest map[string]string
	mu     sync.Mutex
	opened int
}

func (p *fixturePool) Session(_ context.Context, k sessions.Key, up *upstreams.Upstream, version string) (sessions.Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened++
	if n := p.newest[up.Alias]; n != "" && version > n {
		version = n
	}
	return sessions.Session{ID: fmt.Sprintf("%s-session-%d", up.Alias, p.opened), ProtocolVersion: version}, nil
}
func (p *fixturePool) Release(sessions.Session)                     {}
func (p *fixturePool) Discard(sessions.Session)                     {}
func (p *fixturePool) Evict(sessions.Session)                       {}
func (p *fixturePool) Alive(context.Context, sessions.Session) bool { return true }
func (p *fixturePool) EndClient(string)                             {}

// fixtureStream is the server side of one ext_proc stream: Recv hands out
// the fixture's requests in order, then io.EOF (Envoy closing the stream).
type fixtureStream struct {
	grpc.ServerStream // nil: Process uses only Context, Recv and Send
	ctx               context.Context
	in                []*extprocv3.ProcessingRequest
	out               []*extprocv3.ProcessingResponse
}

func (s *fixtureStream) Context() context.Context { return s.ctx }

func (s *fixtureStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if len(s.in) == 0 {
		return nil, io.EOF
	}
	r := s.in[0]
	s.in = s.in[1:]
	return r, nil
}

func (s *fixtureStream) Send(r *extprocv3.ProcessingResponse) error {
	s.out = append(s.out, r)
	return nil
}

// kind names a message by the field of its oneof that is set
// (request_headers, immediate_response, ...).
func kind(m proto.Message) string {
	r := m.ProtoReflect()
	oneofs := r.Descriptor().Oneofs()
	for i := range oneofs.Len() {
		if fd := r.WhichOneof(oneofs.Get(i)); fd != nil {
			return string(fd.Name())
		}
	}
	return "empty"
}

// marshalFixture writes m as protobuf JSON with proto field names, keys
// sorted, two-space indents, and bytes fields (header raw_value, bodies)
// as text rather than base64, so a reader sees the headers and JSON-RPC
// bodies as they are. (protojson's own output is not byte-stable: it adds
// random spaces on purpose.)
func marshalFixture(t *testing.T, m proto.Message) []byte {
	t.Helper()
	raw, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	if err := bytesFields(m.ProtoReflect().Descriptor(), tree, func(s string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !utf8.Valid(b) {
			return "", fmt.Errorf("bytes field is not UTF-8 text: %q", s)
		}
		return string(b), nil
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(tree); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// unmarshalFixture reads what marshalFixture writes.
func unmarshalFixture(data []byte, m proto.Message) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return err
	}
	if err := bytesFields(m.ProtoReflect().Descriptor(), tree, func(s string) (string, error) {
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	}); err != nil {
		return err
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(raw, m)
}

// bytesFields replaces, in tree (the protobuf JSON of a message of type
// md, decoded), the value of every bytes field with conv of it.
func bytesFields(md protoreflect.MessageDescriptor, tree any, conv func(string) (string, error)) error {
	obj, ok := tree.(map[string]any)
	if !ok || strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		return nil // well-known types have JSON forms of their own
	}
	for k, v := range obj {
		fd := md.Fields().ByName(protoreflect.Name(k))
		if fd == nil {
			fd = md.Fields().ByJSONName(k)
		}
		if fd == nil || fd.IsMap() {
			continue // protojson reports unknown fields; no map here holds bytes
		}
		items := []any{v}
		if list, ok := v.([]any); ok && fd.IsList() {
			items = list
		}
		for i, item := range items {
			switch fd.Kind() {
			case protoreflect.BytesKind:
				s, ok := item.(string)
				if !ok {
					return fmt.Errorf("field %s: want a string", k)
				}
				c, err := conv(s)
				if err != nil {
					return fmt.Errorf("field %s: %w", k, err)
				}
				if fd.IsList() {
					items[i] = c
				} else {
					obj[k] = c
				}
			case protoreflect.MessageKind:
				if err := bytesFields(fd.Message(), item, conv); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// A txtar archive (the format of golang.org/x/tools/txtar, which this
// module does not otherwise need): a free-text comment, then sections,
// each a line "-- name --" followed by its data.
type txtar struct {
	comment  []byte
	sections []section
}

type section struct {
	name string
	data []byte
}

func (a *txtar) add(name string, data []byte) {
	a.sections = append(a.sections, section{name, data})
}

func parseTxtar(data []byte) *txtar {
	a := &txtar{}
	for line := range bytes.Lines(data) {
		trimmed := bytes.TrimRight(line, "\r\n")
		if name, ok := bytes.CutPrefix(trimmed, []byte("-- ")); ok {
			if name, ok := bytes.CutSuffix(name, []byte(" --")); ok {
				a.add(string(bytes.TrimSpace(name)), nil)
				continue
			}
		}
		if n := len(a.sections); n > 0 {
			a.sections[n-1].data = append(a.sections[n-1].data, line...)
		} else {
			a.comment = append(a.comment, line...)
		}
	}
	return a
}

func (a *txtar) format() []byte {
	var b bytes.Buffer
	b.Write(a.comment)
	for _, s := range a.sections {
		fmt.Fprintf(&b, "-- %s --\n", s.name)
		b.Write(s.data)
		if len(s.data) > 0 && s.data[len(s.data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
