package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPythonSDKClient drives the gateway with the official Python mcp SDK.
func TestPythonSDKClient(t *testing.T) {
	python := requireEnv(t, "MCPGW_PYTHON")
	alpha := startUpstream(t, "alpha", false, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "clients/python_client.py", gw.Endpoint, "alpha-echo", `{"text":"from python"}`).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	var got struct {
		Tools   []string
		IsError bool `json:"is_error"`
		Text    []string
	}
	if err := json.Unmarshal(out[strings.LastIndexByte(strings.TrimSpace(string(out)), '\n')+1:], &got); err != nil {
		t.Fatalf("python output %q: %v", out, err)
	}
	if len(got.Tools) != 1 || got.Tools[0] != "alpha-echo" || got.IsError || len(got.Text) != 1 || got.Text[0] != "alpha:echo:from python" {
		t.Fatalf("python client got %+v", got)
	}
}

// TestInspectorCLI drives the gateway with the TypeScript Inspector CLI.
func TestInspectorCLI(t *testing.T) {
	cli := requireEnv(t, "MCPGW_INSPECTOR_CLI")
	alpha := startUpstream(t, "alpha", false, "echo")
	gw := gatewayUnder(t, configFor(map[string]string{"alpha": alpha.URL}))
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, cli, append([]string{"--cli", gw.Endpoint, "--transport", "http"}, args...)...)
		// inspector-cli 1.0.3 finds its own package.json by testing
		// "../package.json" against the working directory, not its own
		// location; from node_modules that test hits our package.json.
		cmd.Dir = filepath.Join(filepath.Dir(filepath.Dir(cli)))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("inspector %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("--method", "tools/list"); !strings.Contains(out, `"alpha-echo"`) {
		t.Fatalf("tools/list output lacks alpha-echo:\n%s", out)
	}
	if out := run("--method", "tools/call", "--tool-name", "alpha-echo", "--tool-arg", "text=from-inspector"); !strings.Contains(out, "alpha:echo:from-inspector") {
		t.Fatalf("tools/call output:\n%s", out)
	}
}
