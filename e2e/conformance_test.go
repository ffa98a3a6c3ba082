package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// everythingServer is go-sdk's conformance server: the fixed tools,
// prompts and resources the conformance suite's server scenarios call.
const everythingServer = "github.com/modelcontextprotocol/go-sdk/conformance/everything-server"

// TestConformance runs the official MCP conformance suite's server
// scenarios against /everything/mcp: the gateway, through real Envoy, in
// front of go-sdk's conformance everything-server. Failures listed in
// testdata/conformance-baseline.yml (explained in docs/conformance.md) are
// expected; any other failure, or a listed scenario that now passes,
// fails the test.
func TestConformance(t *testing.T) {
	suite := requireEnv(t, "MCPGW_CONFORMANCE")
	node := requireEnv(t, "MCPGW_NODE") // the suite needs Node.js 22 or later
	upstreamURL := startEverythingServer(t)
	gw := gatewayUnder(t, fmt.Sprintf("mcp_servers:\n  everything:\n    url: %q\n", upstreamURL))
	endpoint := strings.TrimSuffix(gw.Endpoint, "/mcp") + "/everything/mcp"
	cs := connect(t, endpoint)
	waitFor(t, "the everything-server's tools", func() bool {
		res, err := cs.ListTools(t.Context(), nil)
		return err == nil && len(res.Tools) > 10
	})

	baseline, err := filepath.Abs("testdata/conformance-baseline.yml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, suite, "server", "--url", endpoint,
		"--spec-version", "2025-11-25", "--expected-failures", baseline, "-o", out)
	cmd.Dir = out
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	log, runErr := cmd.CombinedOutput()

	results := readConformance(t, out)
	var table strings.Builder
	for _, r := range results {
		fmt.Fprintf(&table, "  %-32s %s\n", r.scenario, r.summary())
	}
	t.Logf("conformance results (%d scenarios):\n%s", len(results), table.String())
	if runErr != nil || len(results) < 25 {
		t.Fatalf("conformance suite: %v (%d scenarios)\n%s", runErr, len(results), tail(string(log), 4000))
	}
}

// startEverythingServer builds and starts go-sdk's conformance server
// (stateful, as go-sdk's own conformance script runs it) and returns its
// MCP URL.
func startEverythingServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "everything-server")
	if out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, everythingServer).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", everythingServer, err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-http="+addr, "-stateless=false")
	var logs testutil.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("everything-server output:\n%s", logs.String())
		}
	})
	waitFor(t, "the everything-server to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "http://" + addr + "/mcp"
}

// conformanceResult is one scenario's checks, from its checks.json.
type conformanceResult struct {
	scenario             string
	passed, failed, warn int
	messages             []string
}

func (r conformanceResult) summary() string {
	s := fmt.Sprintf("pass %d, fail %d", r.passed, r.failed)
	if r.warn > 0 {
		s += fmt.Sprintf(", warning %d", r.warn)
	}
	if len(r.messages) > 0 {
		s += ": " + strings.Join(r.messages, "; ")
	}
	return s
}

// readConformance reads every scenario's checks.json under dir (the
// suite's -o), sorted by scenario.
func readConformance(t *testing.T, dir string) []conformanceResult {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "server-*", "checks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []conformanceResult
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var checks []struct {
			Status       string `json:"status"`
			ErrorMessage string `json:"errorMessage"`
		}
		if err := json.Unmarshal(data, &checks); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		// server-<scenario>-<timestamp>
		name := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "server-")
		name = timestampSuffix.ReplaceAllString(name, "")
		r := conformanceResult{scenario: name}
		for _, c := range checks {
			switch c.Status {
			case "SUCCESS":
				r.passed++
			case "FAILURE":
				r.failed++
				r.messages = append(r.messages, c.ErrorMessage)
			case "WARNING":
				r.warn++
				r.messages = append(r.messages, c.ErrorMessage)
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b conformanceResult) int { return strings.Compare(a.scenario, b.scenario) })
	return out
}

var timestampSuffix = regexp.MustCompile(`-\d{4}-\d{2}-\d{2}T[0-9-]+Z$`)

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
