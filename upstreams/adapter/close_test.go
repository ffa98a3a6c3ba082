package adapter

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/upstreams"
)

// Close does not wait for a stdio server that is still starting: the
// start is abandoned and the process stopped. Close used to end the
// sessions first, whose Close waits for the request in flight, held by
// the start for its whole timeout (30 s); a gateway's shutdown on a signal
// waited as long.
func TestCloseDuringStdioStart(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the process in /proc")
	}
	// sleep never answers initialize: its start lasts the start timeout.
	marker := fmt.Sprintf("%d.%d", 3000, os.Getpid())
	up := &upstreams.Upstream{Alias: "quiet", Transport: upstreams.TransportStdio, Adapter: &upstreams.Adapter{
		Kind: upstreams.AdapterStdio, Command: "sleep", Args: []string{marker},
		SessionMode: upstreams.SessionShared, Startup: upstreams.StartupLazy,
	}}
	set, err := New(Options{Upstreams: []*upstreams.Upstream{up}, LookupEnv: func(n string) (string, bool) {
		if n == "PATH" {
			return os.Getenv("PATH"), true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(set.Handler())
	defer srv.Close()
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	bound, err := upstreams.BindAdapters([]*upstreams.Upstream{up}, strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	// A client's initialize waits for the process to start.
	connectCtx, cancelConnect := context.WithCancel(context.Background())
	defer cancelConnect()
	go mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(connectCtx,
		&mcp.StreamableClientTransport{Endpoint: bound[0].URL.String(), MaxRetries: -1}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for !processRuns(marker) {
		if time.Now().After(deadline) {
			t.Fatal("the stdio server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	closed := make(chan struct{})
	go func() { set.Close(); close(closed) }()
	// Generous, yet well below the 30 s start timeout Close used to wait.
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		t.Fatal("Close waits for the stdio server's start")
	}
	if processRuns(marker) {
		t.Error("the stdio server outlived Close")
	}
}

// processRuns reports whether a live process's command line contains
// marker.
func processRuns(marker string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), marker) {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			s := string(stat)
			if i := strings.LastIndexByte(s, ')'); i+2 < len(s) && s[i+2] != 'Z' {
				return true
			}
		}
	}
	return false
}
