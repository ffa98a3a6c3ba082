package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config"
)

// A stdio server that never answers: the test ends with its context,
// and the command it started is not left running.
func TestServerTesterStdioStopped(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_, err := testerWith().TestServer(ctx, "", config.Server{Name: "mute", Transport: config.TransportStdio,
		Command: "sh", Args: []string{"-c", "echo $$ > " + pidFile + "; exec sleep 60"}})
	if err == nil {
		t.Fatal("a server that never answers: no error")
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatalf("the command did not start: %v (test error: %v)", rerr, err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatalf("pid %q", b)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the stdio command (pid %d) is still there after the test: %v", pid, err)
	}
}
