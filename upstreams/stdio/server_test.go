package stdio

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// newTestServer supervises the test binary acting as an MCP server.
func newTestServer(t *testing.T, mod func(*Options)) (*Server, *testutil.SyncBuffer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	opts := Options{
		Alias:   "tst",
		Command: exe,
		Env:     map[string]string{serverEnv: "1", "CONFIGURED": "yes"},
		// The gateway's environment: only the base names pass.
		LookupEnv: func(name string) (string, bool) {
			switch name {
			case "PATH":
				return os.Getenv("PATH"), true
			case "GATEWAY_SECRET":
				return "hunter2", true
			}
			return "", false
		},
		RetryMin:     100 * time.Millisecond,
		RetryMax:     400 * time.Millisecond,
		StopGrace:    500 * time.Millisecond,
		StartTimeout: 20 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return s, logs
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustCall(t *testing.T, s *Server, key, tool string, args map[string]any) string {
	t.Helper()
	out, err := callText(ctxT(t), s, key, tool, args)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

func TestSharedProcessAndEnvironment(t *testing.T) {
	s, logs := newTestServer(t, nil)
	if got := s.PIDs(); len(got) != 0 {
		t.Fatalf("lazy server started processes before any request: %v", got)
	}
	if got := mustCall(t, s, "a", "echo", map[string]any{"text": "hi"}); got != "hi" {
		t.Fatalf("echo = %q", got)
	}
	pidA := mustCall(t, s, "a", "pid", nil)
	pidB := mustCall(t, s, "b", "pid", nil)
	if pidA != pidB {
		t.Errorf("shared mode: keys a and b got processes %s and %s", pidA, pidB)
	}
	env := mustCall(t, s, "", "env", nil)
	for _, want := range []string{"CONFIGURED=yes", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("child env lacks %s: %s", want, env)
		}
	}
	if strings.Contains(env, "GATEWAY_SECRET") || strings.Contains(env, "hunter2") {
		t.Errorf("child inherited a gateway variable outside the base: %s", env)
	}
	mustCall(t, s, "", "stderr", map[string]any{"text": "hello from stderr"})
	waitFor(t, "stderr in the logs", func() bool {
		return strings.Contains(logs.String(), `line="hello from stderr"`)
	})
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "hello from stderr") && (!strings.Contains(l, "upstream=tst") || !strings.Contains(l, "pid="+pidA)) {
			t.Errorf("stderr line not tagged with alias and pid: %s", l)
		}
	}
}

func TestCrashRestartsWithBackoff(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) { o.RetryMin, o.RetryMax = 300*time.Millisecond, time.Second })
	pid1 := mustCall(t, s, "", "pid", nil)
	_, err := callText(ctxT(t), s, "", "crash", nil)
	var exitedErr *ExitedError
	if !errors.As(err, &exitedErr) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("crash call error = %v, want ExitedError with the status", err)
	}
	// Meanwhile: a clear error, no hang.
	_, err = callText(ctxT(t), s, "", "pid", nil)
	var unavail *UnavailableError
	if !errors.As(err, &unavail) || !strings.Contains(err.Error(), "stdio server tst is unavailable (exited: exit status 3); restarting in") {
		t.Fatalf("call during backoff = %v", err)
	}
	var pid2 string
	waitFor(t, "a restarted process", func() bool {
		pid2, err = callText(ctxT(t), s, "", "pid", nil)
		return err == nil
	})
	if pid2 == pid1 {
		t.Fatalf("same pid %s after a crash", pid1)
	}
}

func TestEagerStartsAndRestartsByItself(t *testing.T) {
	started := make(chan struct{}, 4)
	s, _ := newTestServer(t, func(o *Options) {
		o.Eager = true
		o.OnStarted = func() { started <- struct{}{} }
	})
	if err := s.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the eager process", func() bool { return len(s.PIDs()) == 1 })
	<-started
	first := s.PIDs()[0]
	callText(ctxT(t), s, "", "crash", nil)
	waitFor(t, "a restart without any request", func() bool {
		p := s.PIDs()
		return len(p) == 1 && p[0] != first
	})
	<-started
}

func TestStartFailureIsReported(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) { o.Command = "no-such-mcp-server" })
	_, err := callText(ctxT(t), s, "", "echo", nil)
	if err == nil || !strings.Contains(err.Error(), `could not start: command "no-such-mcp-server" not found in PATH`) {
		t.Fatalf("error = %v", err)
	}
	s2, logs := newTestServer(t, func(o *Options) { o.Env[serverEnv] = "fail" })
	_, err = callText(ctxT(t), s2, "", "echo", nil)
	if err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("error = %v", err)
	}
	waitFor(t, "the child's last words", func() bool { return strings.Contains(logs.String(), "test server refusing to start") })
}

// TestCloseLeavesNoOrphans: the child and a grandchild it started (which
// also holds the stderr pipe) are gone once Close returns.
func TestCloseLeavesNoOrphans(t *testing.T) {
	s, _ := newTestServer(t, nil)
	child, _ := strconv.Atoi(mustCall(t, s, "", "pid", nil))
	grandchild, err := strconv.Atoi(mustCall(t, s, "", "spawn", nil))
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	if !alive(child) || !alive(grandchild) {
		t.Fatalf("child %d or grandchild %d not running", child, grandchild)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	waitFor(t, "child and grandchild gone", func() bool { return !alive(child) && !alive(grandchild) })
	if _, err := callText(ctxT(t), s, "", "pid", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("call after Close = %v, want ErrClosed", err)
	}
}

func TestPerSession(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) {
		o.PerSession = true
		o.MaxProcesses = 2
		o.IdleTimeout = 300 * time.Millisecond
	})
	a := mustCall(t, s, "a", "pid", nil)
	b := mustCall(t, s, "b", "pid", nil)
	if a == b {
		t.Fatalf("per_session: a and b share process %s", a)
	}
	if again := mustCall(t, s, "a", "pid", nil); again != a {
		t.Errorf("a's second call went to %s, want its process %s", again, a)
	}
	// Listing does not start a session's process.
	if err := s.List(ctxT(t), func(ctx context.Context, cs *mcp.ClientSession) error {
		_, err := cs.ListTools(ctx, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.EndSession("b")
	bpid, _ := strconv.Atoi(b)
	if alive(bpid) {
		t.Errorf("b's process %d survived EndSession", bpid)
	}
	apid, _ := strconv.Atoi(a)
	waitFor(t, "a's idle process stopped", func() bool { return !alive(apid) })
	if again := mustCall(t, s, "a", "pid", nil); again == a {
		t.Errorf("a got the stopped process %s back", a)
	}
}

func TestProcessCap(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) {
		o.PerSession = true
		o.MaxProcesses = 1
	})
	a, _ := strconv.Atoi(mustCall(t, s, "a", "pid", nil))
	// a is idle: b takes its place.
	mustCall(t, s, "b", "pid", nil)
	if alive(a) {
		t.Errorf("a's idle process %d was not stopped for b", a)
	}
	// b is busy: c is refused with a clear error.
	done := make(chan struct{})
	go func() {
		defer close(done)
		callText(context.Background(), s, "b", "slow", map[string]any{"ms": 1500})
	}()
	time.Sleep(300 * time.Millisecond)
	_, err := callText(ctxT(t), s, "c", "pid", nil)
	if !errors.Is(err, ErrTooManyProcesses) || !strings.Contains(err.Error(), "stdio server tst: too many processes: 1 per-session processes are running and busy (max_processes)") {
		t.Fatalf("c = %v", err)
	}
	<-done
}

func TestConcurrencyLimit(t *testing.T) {
	s, _ := newTestServer(t, func(o *Options) { o.MaxConcurrent = 2 })
	var wg sync.WaitGroup
	peaks := make([]string, 6)
	for i := range peaks {
		wg.Go(func() { peaks[i] = mustCall(t, s, "", "slow", map[string]any{"ms": 150}) })
	}
	wg.Wait()
	for _, p := range peaks {
		if n, _ := strconv.Atoi(p); n > 2 || n < 1 {
			t.Fatalf("peak concurrency in the child = %v, want at most 2", peaks)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
