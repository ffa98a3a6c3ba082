package adapter

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Update starts new adapters, stops removed ones (their stdio processes
// end) and keeps unchanged ones with their processes.
func TestSetUpdate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the process in /proc")
	}
	kept, removed := stdioUpstream(t, "kept", upstreams.SessionShared), stdioUpstream(t, "removed", upstreams.SessionShared)
	set, err := New(Options{
		Upstreams: []*upstreams.Upstream{kept, removed},
		LookupEnv: func(string) (string, bool) { return "", false },
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(set.Handler())
	t.Cleanup(func() {
		set.Close()
		srv.Close()
	})
	if err := set.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	endpoint := func(alias string) string { return srv.URL + upstreams.AdapterPath(alias) }
	keptPID, _ := callText(connect(t, endpoint("kept")), "pid", nil)
	removedPID, _ := callText(connect(t, endpoint("removed")), "pid", nil)
	if keptPID == "" || removedPID == "" || !processAlive(removedPID) {
		t.Fatalf("pids %q %q", keptPID, removedPID)
	}

	// A copy of kept with equal values is unchanged; added is new.
	same := *kept
	added := stdioUpstream(t, "added", upstreams.SessionShared)
	if err := set.Update(t.Context(), []*upstreams.Upstream{&same, added}); err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 {
		t.Fatalf("Len = %d", set.Len())
	}
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(removedPID) {
		if time.Now().After(deadline) {
			t.Fatalf("the removed server's process %s still runs", removedPID)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := callText(connect(t, endpoint("kept")), "pid", nil); err != nil || got != keptPID {
		t.Errorf("kept server: process %q (%v), want the same %s", got, err, keptPID)
	}
	if got := names(t, connect(t, endpoint("added"))); !slices.Equal(got, []string{"crash", "echo", "pid"}) {
		t.Errorf("added server's tools: %v", got)
	}
	c := mcpClientStatus(t, endpoint("removed"))
	if c != 404 {
		t.Errorf("removed server's endpoint answered %d, want 404", c)
	}

	// A build error (a duplicate alias) changes nothing.
	if err := set.Update(context.Background(), []*upstreams.Upstream{added, added}); err == nil {
		t.Fatal("duplicate alias accepted")
	}
	if set.Len() != 2 {
		t.Fatalf("a refused update changed the set: Len = %d", set.Len())
	}
}

// mcpClientStatus is the HTTP status of an initialize POST to endpoint.
func mcpClientStatus(t *testing.T, endpoint string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
