package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Scenario (f), `make bench-litellm`: the LiteLLM proxy's MCP gateway
// (the litellm executable of a venv the Makefile makes, the version it
// pins) in front of the same demo upstream, called by the same load as
// (c): go-sdk sessions calling demo-echo on /mcp. LiteLLM gets the
// upstream as an mcp_servers entry of its config file, the master key as
// its only key, and no database; the client sends the master key in
// x-litellm-api-key, as LiteLLM's docs show.

// startLiteLLM runs the proxy on a free loopback port and waits until it
// answers its liveness probe and lists the demo server's echo tool.
func startLiteLLM(ctx context.Context, bin, upstreamURL string, l *logs) (tg *target, err error) {
	dir, err := os.MkdirTemp("", "mcpgw-bench-litellm-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg := fmt.Sprintf(`model_list: []
mcp_servers:
  %s:
    url: %q
    transport: "http"
general_settings:
  master_key: %s
litellm_settings:
  telemetry: false
`, alias, upstreamURL, benchMasterKey)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfgPath, "--host", "127.0.0.1", "--port", fmt.Sprint(ports[0]))
	// The local model cost map: no fetch (and its retries) at start.
	cmd.Env = append(os.Environ(), "LITELLM_LOCAL_MODEL_COST_MAP=True", "LITELLM_LOG=ERROR")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = l, l
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("litellm: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	cleanup := func() {
		// The proxy's whole process group: uvicorn and anything it forked.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(readyCtx, http.MethodGet, base+"/health/liveliness", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err // for cleanup
			return nil, fmt.Errorf("litellm exited while starting: %v", err)
		case <-readyCtx.Done():
			return nil, fmt.Errorf("litellm: not live after 2 minutes: %w", readyCtx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	header := http.Header{"X-Litellm-Api-Key": {"Bearer " + benchMasterKey}}
	tg = &target{endpoint: base + "/mcp", tool: alias + "-echo", header: header, close: cleanup}
	// One call by hand: the tool is there and answers.
	s := rawSession{endpoint: tg.endpoint, protocol: "2025-11-25", header: header, hc: http.DefaultClient}
	if _, err := s.initialize(readyCtx); err != nil {
		return nil, fmt.Errorf("litellm: %w", err)
	}
	defer s.close(context.WithoutCancel(ctx))
	if _, _, err := s.post(readyCtx, map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
		"params": map[string]any{"name": tg.tool, "arguments": map[string]any{"text": echoText}}}); err != nil {
		return nil, fmt.Errorf("litellm: %w", err)
	}
	return tg, nil
}

// litellmVersion asks the venv's Python for the installed version, for
// the report; "" when it cannot tell.
func litellmVersion(bin string) string {
	py := filepath.Join(filepath.Dir(bin), "python")
	out, err := exec.Command(py, "-c", "import importlib.metadata as m; print(m.version('litellm'))").Output()
	if err != nil {
		return ""
	}
	return string(trimNL(out))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
