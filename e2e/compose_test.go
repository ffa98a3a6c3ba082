//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"gopkg.in/yaml.v3"

	"github.com/mcpgw/mcpgw/internal/testutil"
)

// composeFile is the part of docker-compose.yml the test reads.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Build       string            `yaml:"build"`
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
	Restart     string            `yaml:"restart"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// dependencies lists a service's depends_on, each with whether it must
// have completed (service_completed_successfully) rather than started.
func (s composeService) dependencies(t *testing.T) map[string]bool {
	t.Helper()
	deps := map[string]bool{}
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		var names []string
		if err := s.DependsOn.Decode(&names); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			deps[n] = false
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := s.DependsOn.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for n, c := range m {
			deps[n] = c.Condition == "service_completed_successfully"
		}
	default:
		t.Fatalf("depends_on: unexpected %v", s.DependsOn.Kind)
	}
	return deps
}

// composeEnv expands compose's ${NAME}, ${NAME:?message} and
// ${NAME:-default} from env; an unset required variable fails the test.
func composeEnv(t *testing.T, v string, env map[string]string) string {
	t.Helper()
	re := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|:-)([^}]*))?\}`)
	return re.ReplaceAllStringFunc(v, func(m string) string {
		g := re.FindStringSubmatch(m)
		if val, ok := env[g[1]]; ok && val != "" {
			return val
		}
		switch g[2] {
		case ":-":
			return g[3]
		case ":?":
			t.Fatalf("compose needs %s: %s", g[1], g[3])
		}
		return ""
	})
}

// composeRewriter maps the compose network onto loopback: every service
// name and 0.0.0.0 become 127.0.0.1, every port a free one (the same
// container port, the same free port), container paths the test's files.
type composeRewriter struct {
	t        *testing.T
	hostPort *regexp.Regexp
	ports    map[string]string
	paths    map[string]string // container path prefix → host path
}

func newComposeRewriter(t *testing.T, services map[string]composeService) *composeRewriter {
	names := []string{`0\.0\.0\.0`}
	for name := range services {
		names = append(names, regexp.QuoteMeta(name))
	}
	return &composeRewriter{
		t:        t,
		hostPort: regexp.MustCompile(`\b(` + strings.Join(names, "|") + `):(\d+)\b`),
		ports:    map[string]string{},
		paths:    map[string]string{},
	}
}

func (r *composeRewriter) port(p string) string {
	if mapped, ok := r.ports[p]; ok {
		return mapped
	}
	mapped := strconv.Itoa(mustFreePort(r.t))
	r.ports[p] = mapped
	return mapped
}

// text rewrites host:port pairs of the compose network in s.
func (r *composeRewriter) text(s string) string {
	return r.hostPort.ReplaceAllStringFunc(s, func(m string) string {
		return "127.0.0.1:" + r.port(r.hostPort.FindStringSubmatch(m)[2])
	})
}

// args rewrites a command line: host:port pairs, the value of a -port or
// -admin-port flag, and paths inside mounted volumes.
func (r *composeRewriter) args(cmd []string) []string {
	out := make([]string, len(cmd))
	for i, a := range cmd {
		a = r.text(a)
		if i > 0 && strings.HasSuffix(cmd[i-1], "port") && strings.HasPrefix(cmd[i-1], "-") {
			a = r.port(a)
		}
		for in, host := range r.paths {
			if a == in || strings.HasPrefix(a, in+"/") {
				a = host + strings.TrimPrefix(a, in)
			}
		}
		out[i] = a
	}
	return out
}

// TestComposeWiring runs docker-compose.yml's services as plain processes
// with the compose file's own commands, flags, environment and config
// (there is no Docker engine here): host names and ports mapped to
// loopback, the mcpgw image's entrypoint replaced by the mcpgw binary, the
// envoy image's by ENVOY_BIN. 2025-era clients with sessions then list
// (answered by the sidecar, which issues the session) and call (checked by
// the ext_proc service) through Envoy. The shipped compose file gave the
// two processes different random session keys: every call was 404.
func TestComposeWiring(t *testing.T) {
	envoyBin := requireEnv(t, "ENVOY_BIN")
	bin := buildGateway(t)
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose composeFile
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	secret := make([]byte, 48)
	rand.Read(secret)
	env := map[string]string{"MCPGW_SESSION_SECRET": base64.StdEncoding.EncodeToString(secret)}
	rw := newComposeRewriter(t, compose.Services)
	dir := t.TempDir()

	// Volumes: a bind mount's file is copied with the compose network
	// rewritten in it (the config names demo:4100 and gateway.port), a
	// named volume is a directory.
	gatewayPort := regexp.MustCompile(`(?m)^(\s+port:\s*)(\d+)\s*$`)
	for name, svc := range compose.Services {
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			src, dst := parts[0], parts[1]
			if _, done := rw.paths[dst]; done {
				continue
			}
			if !strings.HasPrefix(src, ".") {
				host := filepath.Join(dir, "volume-"+src)
				if err := os.MkdirAll(host, 0o700); err != nil {
					t.Fatal(err)
				}
				rw.paths[dst] = host
				continue
			}
			b, err := os.ReadFile(filepath.Join("..", src))
			if err != nil {
				t.Fatalf("%s: volume %s: %v", name, v, err)
			}
			text := gatewayPort.ReplaceAllStringFunc(rw.text(string(b)), func(m string) string {
				g := gatewayPort.FindStringSubmatch(m)
				return g[1] + rw.port(g[2])
			})
			host := filepath.Join(dir, "bind-"+filepath.Base(dst))
			if err := os.WriteFile(host, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			rw.paths[dst] = host
		}
	}

	// Start the services in depends_on order: a one-shot dependency must
	// have exited 0 first.
	started := map[string]*exec.Cmd{}
	completed := map[string]bool{}
	logs := map[string]*testutil.SyncBuffer{}
	t.Cleanup(func() {
		for name, cmd := range started {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s %q:\n%s", name, cmd.Args, logs[name].String())
			}
		}
	})
	for len(started) < len(compose.Services) {
		progress := false
		for name, svc := range compose.Services {
			if started[name] != nil {
				continue
			}
			ready := true
			for dep, mustComplete := range svc.dependencies(t) {
				if started[dep] == nil || (mustComplete && !completed[dep]) {
					ready = false
				}
			}
			if !ready {
				continue
			}
			args := rw.args(svc.Command)
			switch {
			case svc.Build != "": // the mcpgw image: ENTRYPOINT mcpgw
				args = append([]string{bin}, args...)
			case strings.HasPrefix(svc.Image, "envoyproxy/envoy:") && args[0] == "envoy":
				args[0] = envoyBin
			default:
				t.Fatalf("service %s: neither the mcpgw build nor the envoy image", name)
			}
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Env = os.Environ()
			for k, v := range svc.Environment {
				cmd.Env = append(cmd.Env, k+"="+composeEnv(t, v, env))
			}
			logs[name] = &testutil.SyncBuffer{}
			cmd.Stdout, cmd.Stderr = logs[name], logs[name]
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatalf("start %s: %v", name, err)
			}
			started[name] = cmd
			progress = true
			if isOneShot(compose.Services, name) {
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("%s: %v\n%s", name, err, logs[name].String())
					}
				case <-time.After(lifecycleWait):
					t.Fatalf("%s did not finish", name)
				}
				completed[name] = true
			}
		}
		if !progress {
			t.Fatalf("depends_on cannot be satisfied: started %d of %d services", len(started), len(compose.Services))
		}
	}

	// Healthchecks and restart policies: every long-running service has
	// both, and each healthcheck passes once the services are up (the
	// mcpgw image's through `mcpgw probe`, Envoy's through bash).
	devTCP := regexp.MustCompile(`/dev/tcp/127\.0\.0\.1/(\d+)`)
	for name, svc := range compose.Services {
		if isOneShot(compose.Services, name) {
			if svc.Restart != "no" {
				t.Errorf("%s: one-shot service with restart %q, want \"no\"", name, svc.Restart)
			}
			continue
		}
		if svc.Restart != "unless-stopped" {
			t.Errorf("%s: restart %q, want unless-stopped", name, svc.Restart)
		}
		test := svc.Healthcheck.Test
		if name == "demo" && len(test) == 0 {
			continue // the demo upstream: Envoy checks nothing of it either
		}
		if len(test) < 2 || test[0] != "CMD" {
			t.Errorf("%s: healthcheck test %q, want [CMD, ...]", name, test)
			continue
		}
		args := rw.args(test[1:])
		switch {
		case args[0] == "/usr/local/bin/mcpgw" && svc.Build != "":
			args[0] = bin
		case args[0] == "bash" && strings.HasPrefix(svc.Image, "envoyproxy/envoy:"):
			args[len(args)-1] = devTCP.ReplaceAllStringFunc(args[len(args)-1], func(m string) string {
				return "/dev/tcp/127.0.0.1/" + rw.port(devTCP.FindStringSubmatch(m)[1])
			})
		default:
			t.Errorf("%s: healthcheck %q runs nothing its image has", name, test)
			continue
		}
		waitFor(t, name+"'s healthcheck to pass", func() bool {
			return exec.Command(args[0], args[1:]...).Run() == nil
		})
	}

	// The published port: "4000:4000" is Envoy's listener.
	envoySvc := compose.Services["envoy"]
	if len(envoySvc.Ports) != 1 {
		t.Fatalf("envoy ports %v", envoySvc.Ports)
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%s/mcp", rw.port(strings.Split(envoySvc.Ports[0], ":")[1]))
	for _, version := range []string{"2025-03-26", "2025-06-18", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var cs *mcp.ClientSession
			waitFor(t, "the gateway to answer initialize", func() bool {
				c := mcp.NewClient(&mcp.Implementation{Name: "compose", Version: "1"}, nil)
				var err error
				cs, err = c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1},
					&mcp.ClientSessionOptions{ProtocolVersion: version})
				return err == nil
			})
			defer cs.Close()
			if cs.ID() == "" {
				t.Fatal("no session id: not a session client")
			}
			waitFor(t, "demo-echo to be listed", func() bool {
				res, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatalf("tools/list: %v", err)
				}
				for _, tool := range res.Tools {
					if tool.Name == "demo-echo" {
						return true
					}
				}
				return false
			})
			for i := range 3 {
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "demo-echo", Arguments: map[string]any{"text": "compose"}})
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if res.IsError || len(res.Content) == 0 || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "compose") {
					t.Fatalf("call %d: %+v", i, res)
				}
			}
		})
	}

	// The components' operations listeners (-ops-listen): each is ready
	// and exports the metrics its process fills, and only those.
	for _, tc := range []struct {
		service   string
		want, not []string
	}{
		{"extproc", []string{
			// 3 protocol versions x 3 calls, all allowed.
			`mcp_server_operation_duration_seconds_count{mcp_method_name="tools/call",outcome="ok",server="demo"} 9`,
			`mcpgw_client_sessions_total{event="started"} 3`,
			`mcpgw_upstream_sessions_open `,
			"# TYPE mcpgw_policy_decisions_total counter",
			"go_goroutines ",
		}, []string{"mcpgw_upstream_discovery_failures_total", "mcpgw_admin_api_writes_total"}},
		{"sidecar", []string{
			`mcpgw_upstream_discovery_failures_total{server="demo"} 0`,
			"# TYPE mcpgw_policy_decisions_total counter",
			"go_goroutines ",
		}, []string{"mcp_server_operation_duration_seconds", "mcpgw_client_sessions_total", "mcpgw_upstream_sessions_open", "mcpgw_admin_api_writes_total"}},
	} {
		ops := composeOpsAddress(t, rw.args(compose.Services[tc.service].Command))
		if code, body := httpGet(t, "http://"+ops+"/readyz"); code != http.StatusOK || body != "ready\n" {
			t.Errorf("%s /readyz: %d %q", tc.service, code, body)
		}
		if code, body := httpGet(t, "http://"+ops+"/healthz"); code != http.StatusOK {
			t.Errorf("%s /healthz: %d %q", tc.service, code, body)
		}
		code, metrics := httpGet(t, "http://"+ops+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("%s /metrics: %d", tc.service, code)
		}
		for _, want := range tc.want {
			if !strings.Contains(metrics, want) {
				t.Errorf("%s /metrics: no %s", tc.service, want)
			}
		}
		for _, not := range tc.not {
			if strings.Contains(metrics, not) {
				t.Errorf("%s /metrics has %s, which another process fills", tc.service, not)
			}
		}
		if t.Failed() {
			t.Logf("%s /metrics:\n%s", tc.service, metrics)
		}
	}
}

// composeOpsAddress is the -ops-listen address of a (rewritten) command.
func composeOpsAddress(t *testing.T, args []string) string {
	t.Helper()
	for i, a := range args {
		if a == "-ops-listen" && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatalf("no -ops-listen in %q", args)
	return ""
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// isOneShot reports whether another service waits for name to complete.
func isOneShot(services map[string]composeService, name string) bool {
	for _, svc := range services {
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if svc.DependsOn.Kind == yaml.MappingNode && svc.DependsOn.Decode(&m) == nil &&
			m[name].Condition == "service_completed_successfully" {
			return true
		}
	}
	return false
}
