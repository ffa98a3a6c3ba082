package discovery

import (
	"bytes"
	"errors"
	"github.com/mcpgw/mcpgw/upstreams"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
)

// countInitialize counts the initialize requests u receives.
func countInitialize(u *testUpstream) *atomic.Int64 {
	var n atomic.Int64
	u.wrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil {
				body, _ := io.ReadAll(r.Body)
				if bytes.Contains(body, []byte(`"method":"initialize"`)) {
					n.Add(1)
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	})
	return &n
}

// Update keeps the links (and sessions) of unchanged upstreams, starts
// links for new ones and replaces changed ones, and withdraws the lists
// of removed ones.
func TestDiscoveryUpdate(t *testing.T) {
	kept := newTestUpstream(t, "kept", false)
	gone := newTestUpstream(t, "gone", false)
	moved := newTestUpstream(t, "moved", false)
	elsewhere := newTestUpstream(t, "moved", false) // the same alias at another address
	added := newTestUpstream(t, "added", false)
	keptInits := countInitialize(kept)

	var rec recorder
	opts := fastOptions(t)
	opts.OnChange = rec.onChange
	d := startDiscovery(t, opts, kept.up, gone.up, moved.up)
	if !hasTool(d, "kept", "echo") || !hasTool(d, "gone", "echo") || keptInits.Load() != 1 {
		t.Fatalf("before: tools %v, kept initialized %d times", d.Tools(), keptInits.Load())
	}

	// A copy of kept's value is the same upstream.
	same := *kept.up
	stopped, started, err := d.Update(t.Context(), []*upstreams.Upstream{&same, elsewhere.up, added.up})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stopped, []string{"gone", "moved"}) || !slices.Equal(started, []string{"moved", "added"}) {
		t.Fatalf("stopped %v, started %v", stopped, started)
	}
	tools := d.Tools()
	if _, ok := tools["gone"]; ok || !hasTool(d, "added", "echo") || !hasTool(d, "moved", "echo") || !hasTool(d, "kept", "echo") {
		t.Fatalf("after: tools %v", tools)
	}
	if !rec.seen("gone:down") {
		t.Errorf("removed upstream's tools not withdrawn: %v", rec.calls)
	}
	if n := keptInits.Load(); n != 1 {
		t.Errorf("kept upstream initialized %d times, want its session kept", n)
	}
	if _, err := d.CallTool(t.Context(), "gone", "echo", map[string]any{"text": "x"}); !errors.Is(err, ErrUnknownUpstream) {
		t.Errorf("call to a removed upstream: %v", err)
	}

	// A duplicate alias changes nothing.
	if _, _, err := d.Update(t.Context(), []*upstreams.Upstream{kept.up, kept.up}); err == nil {
		t.Fatal("duplicate alias accepted")
	}
	if !hasTool(d, "added", "echo") {
		t.Fatal("a refused update changed the links")
	}
}
