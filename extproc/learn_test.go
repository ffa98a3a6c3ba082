package extproc

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/mcpgw/mcpgw/policy/identity"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/sessions"
)

// sessionlessPool stands for sessions.Pool with an upstream that keeps no
// sessions and speaks every version up to newest.
type sessionlessPool struct{ newest string }

func (p sessionlessPool) Session(_ context.Context, _ sessions.Key, _ *upstreams.Upstream, version string) (sessions.Session, error) {
	return sessions.Session{ProtocolVersion: min(version, p.newest)}, nil
}
func (sessionlessPool) Release(sessions.Session)                     {}
func (sessionlessPool) Discard(sessions.Session)                     {}
func (sessionlessPool) Evict(sessions.Session)                       {}
func (sessionlessPool) Alive(context.Context, sessions.Session) bool { return true }
func (sessionlessPool) EndClient(string)                             {}

// fixtureRequests are the messages Envoy sends in a testdata fixture.
func fixtureRequests(t *testing.T, name string) []*extprocv3.ProcessingRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []*extprocv3.ProcessingRequest
	for _, s := range parseTxtar(data).sections {
		if strings.HasPrefix(s.name, envoySends) {
			req := &extprocv3.ProcessingRequest{}
			if err := unmarshalFixture(s.data, req); err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, req)
		}
	}
	return reqs
}

// TestFastPathLearner: the service tells the fast path's learner of a
// routed tools/call exactly when Envoy could send it as it was sent: the
// upstream took it without a session and at the client's version (and
// the client sent no credentials of its own for the upstream).
func TestFastPathLearner(t *testing.T) {
	alice := identity.Hash("sk-alice").String()
	for _, tc := range []struct {
		name    string
		fixture string // a routed tools/call by alice's key
		pool    Sessions
		want    []string
	}{
		{"2025-11-25 with a session, upstream keeps none", "routed-tools-call.txtar", sessionlessPool{newest: "2026-07-28"}, []string{alice + " demo 2025-11-25"}},
		{"2026-07-28, upstream speaks it", "downgraded-tools-call.txtar", sessionlessPool{newest: "2026-07-28"}, []string{alice + " demo 2026-07-28"}},
		{"2025-11-25, upstream keeps sessions", "routed-tools-call.txtar", &fixturePool{newest: map[string]string{"demo": "2025-11-25"}}, nil},
		{"2026-07-28, upstream keeps sessions at 2025-11-25", "downgraded-tools-call.txtar", &fixturePool{newest: map[string]string{"demo": "2025-11-25"}}, nil},
		// Session-less, but at another version: the call carries that
		// version's header, which Envoy would not set.
		{"2025-11-25, upstream negotiates 2025-06-18", "routed-tools-call.txtar", sessionlessPool{newest: "2025-06-18"}, nil},
		{"2026-07-28, upstream negotiates 2025-06-18", "downgraded-tools-call.txtar", sessionlessPool{newest: "2025-06-18"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			learn := func(owner string, up *upstreams.Upstream, version string) {
				mu.Lock()
				got = append(got, owner+" "+up.Alias+" "+version)
				mu.Unlock()
			}
			reqs := fixtureRequests(t, tc.fixture)
			stream := &fixtureStream{ctx: t.Context(), in: reqs}
			if err := fixtureServerWith(t, tc.pool, WithFastPathLearner(learn)).Process(stream); err != nil {
				t.Fatal(err)
			}
			if len(stream.out) != len(reqs) {
				t.Fatalf("answered %d of %d messages", len(stream.out), len(reqs))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("learned %q, want %q", got, tc.want)
			}
		})
	}
}
