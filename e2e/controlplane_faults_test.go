package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/internal/testutil"
)

// requirePostgres skips the test without a PostgreSQL (make test starts
// one; MCPGW_REQUIRE_POSTGRES=1 makes its absence a failure) and returns
// the shared server's admin URL.
func requirePostgres(t *testing.T) string {
	t.Helper()
	admin := testutil.PostgresURL(t)
	if admin == "" {
		t.Skip("MCPGW_POSTGRES_URL is not set; run through make test")
	}
	return admin
}

// privatePostgres is a PostgreSQL cluster of the test's own, on a port of
// its own (scripts/ensure-postgres.sh), which it may stop and start:
// other packages' tests use the shared one meanwhile.
type privatePostgres struct {
	URL  string
	port int
}

func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	pg := &privatePostgres{port: mustFreePort(t)}
	t.Cleanup(func() {
		if out, err := pg.script("destroy"); err != nil {
			t.Errorf("destroying the private PostgreSQL: %v\n%s", err, out)
		}
	})
	out, err := pg.script("start")
	if err != nil {
		t.Fatalf("starting a private PostgreSQL on port %d: %v\n%s", pg.port, err, out)
	}
	pg.URL = strings.TrimSpace(out)
	return pg
}

// script runs scripts/ensure-postgres.sh cmd for this cluster; stdout
// alone on success, with stderr on failure.
func (pg *privatePostgres) script(cmd string) (string, error) {
	c := exec.Command(filepath.Join("..", "scripts", "ensure-postgres.sh"), cmd)
	c.Env = append(os.Environ(), "MCPGW_PG_PORT="+strconv.Itoa(pg.port))
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

func (pg *privatePostgres) mustRun(t *testing.T, cmd string) {
	t.Helper()
	if out, err := pg.script(cmd); err != nil {
		t.Fatalf("ensure-postgres.sh %s (port %d): %v\n%s", cmd, pg.port, err, out)
	}
}

// percentiles formats the 50th and 99th percentile and the maximum.
func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(s), at(0.50).Round(time.Microsecond), at(0.99).Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}

// waitStatus polls a tool call with key through inst until it answers
// want, and returns how long that took. The bound is generous; the time
// is what the test reports.
func waitStatus(t *testing.T, inst *gateway.Instance, key, tool string, want int) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		status, body := callTool(t, inst.Endpoint, key, tool, `{"text":"x"}`)
		if status == want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s through %s: still %d %.200s after %v, want %d", tool, inst.Endpoint, status, body, time.Since(start), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// untilStatus calls weather-forecast with key through inst back to back
// until the answer is want, and returns how long that took; -1 when it
// was not within limit. Safe outside the test's goroutine.
func untilStatus(inst *gateway.Instance, key string, want int, limit time.Duration) time.Duration {
	start := time.Now()
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"weather-forecast","arguments":{"text":"x"}}}`
	for time.Since(start) < limit {
		req, _ := http.NewRequest(http.MethodPost, inst.Endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("x-litellm-api-key", key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return time.Since(start)
			}
		}
		time.Sleep(time.Millisecond)
	}
	return -1
}

// TestControlPlaneReplicas runs two gateways (each its own Envoy, as two
// processes would) on one PostgreSQL: what one writes the other serves,
// a key deleted on one is refused by both within a second (PostgreSQL
// notifies), and concurrent updates of different fields of one server,
// one through each, both land.
func TestControlPlaneReplicas(t *testing.T) {
	dbURL := testutil.FreshPostgres(t, requirePostgres(t))
	base := startUpstream(t, "base", false, "ping")
	weather := startUpstream(t, "weather", false, "forecast")
	yamlText := fmt.Sprintf(cpConfig, base.URL)
	a, _ := cpGateway(t, yamlText, dbURL, gateway.Options{})
	b, _ := cpGateway(t, yamlText, dbURL, gateway.Options{})

	// A server POSTed through A is listed and callable through B.
	start := time.Now()
	created := mustAdmin(t, a, "POST", "/v1/mcp/server", map[string]any{
		"server_name": "weather", "url": weather.URL, "transport": "http",
	}, http.StatusCreated)
	serverID, _ := created["server_id"].(string)
	if serverID == "" {
		t.Fatalf("no server_id in %v", created)
	}
	mustAdmin(t, b, "GET", "/v1/mcp/server/"+serverID, nil, http.StatusOK)
	waitStatus(t, b, cpMaster, "weather-forecast", http.StatusOK)
	t.Logf("a server added through A: callable through B %v after the POST was sent", time.Since(start))
	if got := listTools(t, b.Endpoint, map[string]string{"x-litellm-api-key": cpMaster}); !slices.Contains(got, "weather-forecast") {
		t.Errorf("B lists %v, want weather-forecast among them", got)
	}

	// Keys minted on A work on B; deleted on A, both refuse them at once.
	var works, refusedA, refusedB []time.Duration
	for i := range 20 {
		gen := mustAdmin(t, a, "POST", "/key/generate", map[string]any{"key_alias": fmt.Sprintf("replica-%d", i),
			"object_permission": map[string]any{"mcp_servers": []string{"weather"}}}, http.StatusOK)
		key, _ := gen["key"].(string)
		works = append(works, waitStatus(t, b, key, "weather-forecast", http.StatusOK))

		// B is watched from the moment the delete is sent.
		sent := time.Now()
		onB := make(chan time.Duration, 1)
		go func() { onB <- untilStatus(b, key, http.StatusUnauthorized, 10*time.Second) }()
		mustAdmin(t, a, "POST", "/key/delete", map[string]any{"keys": []string{key}}, http.StatusOK)
		answered := time.Since(sent)
		// A answers the delete once it serves it: refused at once.
		if status, _ := callTool(t, a.Endpoint, key, "weather-forecast", `{"text":"x"}`); status != http.StatusUnauthorized {
			t.Errorf("a key deleted through A still gets %d from A right after the delete answered", status)
		}
		refusedA = append(refusedA, answered)
		tookB := <-onB
		if tookB < 0 {
			t.Fatalf("a key deleted through A still works through B after 10s")
		}
		refusedB = append(refusedB, tookB)
	}
	t.Logf("key minted on A, works on B after: %s", percentiles(works))
	t.Logf("key deleted on A, 401 on A after (the delete's answer): %s", percentiles(refusedA))
	t.Logf("key deleted on A, 401 on B after (from sending the delete, watched meanwhile): %s", percentiles(refusedB))
	// The target is 1 s (PostgreSQL notifies: milliseconds); the bound
	// here is generous, for busy machines, and the numbers are logged.
	if worst := slices.Max(refusedB); worst > 5*time.Second {
		t.Errorf("a key deleted on A was served by B for %v", worst)
	}

	// Concurrent updates of different fields, one through each replica:
	// read-merge-write against the version, so neither is lost.
	for round := range 10 {
		descr, owner := fmt.Sprintf("described by A, round %d", round), fmt.Sprintf("b-%d", round)
		var wg sync.WaitGroup
		ready := make(chan struct{})
		errs := make([]string, 2)
		for i, w := range []struct {
			inst *gateway.Instance
			body map[string]any
		}{
			{a, map[string]any{"server_id": serverID, "description": descr}},
			{b, map[string]any{"server_id": serverID, "mcp_info": map[string]any{"owner": owner}}},
		} {
			wg.Go(func() {
				<-ready
				status, out, err := adminRequest(w.inst, cpMaster, "PUT", "/v1/mcp/server", w.body)
				if err != nil || status != http.StatusAccepted {
					errs[i] = fmt.Sprintf("PUT through replica %d: %d %v %v", i, status, out, err)
				}
			})
		}
		close(ready)
		wg.Wait()
		for _, e := range errs {
			if e != "" {
				t.Fatal(e)
			}
		}
		for _, inst := range []*gateway.Instance{a, b} {
			got := mustAdmin(t, inst, "GET", "/v1/mcp/server/"+serverID, nil, http.StatusOK)
			info, _ := got["mcp_info"].(map[string]any)
			if got["description"] != descr || info["owner"] != owner {
				t.Fatalf("round %d: a concurrent update was lost: description %v, mcp_info %v", round, got["description"], got["mcp_info"])
			}
		}
	}
	got := mustAdmin(t, a, "GET", "/v1/mcp/server/"+serverID, nil, http.StatusOK)
	if v := fmt.Sprint(got["version"]); v != "21" {
		t.Errorf("after 10 rounds of two updates the server is at version %s, want 21", v)
	}
}

// TestControlPlaneStoreOutage stops the gateway's PostgreSQL for about
// ten seconds while a client keeps calling a tool: every call succeeds
// (the last state loaded is served), admin writes get 503 naming the
// store, and once the database is back writes work again, without a
// restart, and are served.
func TestControlPlaneStoreOutage(t *testing.T) {
	requirePostgres(t)
	pg := startPrivatePostgres(t)
	password := ""
	if i, j := strings.Index(pg.URL, "mcpgw:"), strings.Index(pg.URL, "@"); i >= 0 && j > i {
		password = pg.URL[i+len("mcpgw:") : j]
	}
	if len(password) < 8 {
		t.Fatalf("no password in the private PostgreSQL's URL")
	}
	base := startUpstream(t, "base", false, "ping")
	weather := startUpstream(t, "weather", false, "forecast")
	inst, logs := cpGateway(t, fmt.Sprintf(cpConfig, base.URL), pg.URL, gateway.Options{})

	created := mustAdmin(t, inst, "POST", "/v1/mcp/server", map[string]any{
		"server_name": "weather", "url": weather.URL, "transport": "http",
	}, http.StatusCreated)
	serverID, _ := created["server_id"].(string)
	gen := mustAdmin(t, inst, "POST", "/key/generate", map[string]any{"key_alias": "before-outage",
		"object_permission": map[string]any{"mcp_servers": []string{"weather"}}}, http.StatusOK)
	key, _ := gen["key"].(string)

	// The load: tool calls back to back, with the stored key, through a
	// server that came from the store.
	var (
		calls, failed atomic.Int64
		failMu        sync.Mutex
		failures      []string
		latencies     []time.Duration
		slowest       time.Duration
		slowestAt     time.Time
	)
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	load.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for n := 0; loadCtx.Err() == nil; n++ {
			body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"weather-forecast","arguments":{"text":"n%d"}}}`, n, n)
			req, _ := http.NewRequest(http.MethodPost, inst.Endpoint, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("x-litellm-api-key", key)
			sent := time.Now()
			resp, err := client.Do(req)
			calls.Add(1)
			var got []byte
			status := 0
			if err == nil {
				got, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			if err != nil || status != http.StatusOK || !strings.Contains(string(got), fmt.Sprintf("weather:forecast:n%d", n)) {
				failed.Add(1)
				failMu.Lock()
				failures = append(failures, fmt.Sprintf("call %d at %s: %d %v %.200s", n, time.Now().Format("15:04:05.000"), status, err, got))
				failMu.Unlock()
				continue
			}
			failMu.Lock()
			latencies = append(latencies, time.Since(sent))
			if took := time.Since(sent); took > slowest {
				slowest, slowestAt = took, sent
			}
			failMu.Unlock()
		}
	})
	t.Cleanup(func() { stopLoad(); load.Wait() })
	waitFor(t, "the load to run", func() bool { return calls.Load() > 10 })

	pg.mustRun(t, "stop")
	down := time.Now()
	callsBefore := calls.Load()
	t.Logf("PostgreSQL on port %d stopped", pg.port)

	// Every kind of write, including the read-merge-write of an update,
	// is a 503 that names the store and not its password.
	writes := []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/mcp/server", map[string]any{"server_name": "during", "url": weather.URL, "transport": "http"}},
		{"PUT", "/v1/mcp/server", map[string]any{"server_id": serverID, "description": "during the outage"}},
		{"DELETE", "/v1/mcp/server/" + serverID, nil},
		{"POST", "/key/generate", map[string]any{"key_alias": "during"}},
		{"POST", "/key/update", map[string]any{"key": key, "blocked": true}},
		{"POST", "/key/delete", map[string]any{"keys": []string{key}}},
		{"POST", "/team/new", map[string]any{"team_alias": "during"}},
		{"POST", "/organization/new", map[string]any{"organization_alias": "during"}},
	}
	dbName := fmt.Sprintf("127.0.0.1:%d", pg.port)
	for round := 0; time.Since(down) < 10*time.Second; round++ {
		for _, w := range writes {
			status, out := adminCall(t, inst, cpMaster, w.method, w.path, w.body)
			msg := fmt.Sprint(out)
			if round == 0 && w.path == "/key/generate" {
				t.Logf("during the outage: %s %s: %d %s", w.method, w.path, status, msg)
			}
			if status != http.StatusServiceUnavailable || !strings.Contains(msg, "store") || !strings.Contains(msg, dbName) {
				t.Errorf("%s %s with the database down: %d %v; want 503 naming the store (%s)", w.method, w.path, status, out, dbName)
			}
			if strings.Contains(msg, password) {
				t.Errorf("%s %s: the answer shows the database password: %v", w.method, w.path, out)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Reads of the config file's objects with the store down: refused
	// too (the list includes stored ones), without a 500.
	if status, out := adminCall(t, inst, cpMaster, "GET", "/v1/mcp/server", nil); status != http.StatusServiceUnavailable {
		t.Errorf("listing servers with the database down: %d %v, want 503", status, out)
	}
	callsDuringOutage := calls.Load() - callsBefore

	pg.mustRun(t, "start")
	up := time.Now()
	t.Logf("PostgreSQL back after %v down", up.Sub(down).Round(time.Millisecond))
	var after map[string]any
	deadline, refusedAfter := up.Add(30*time.Second), 0
	for {
		status, out := adminCall(t, inst, cpMaster, "POST", "/key/generate", map[string]any{"key_alias": "after-outage",
			"object_permission": map[string]any{"mcp_servers": []string{"weather"}}})
		if status == http.StatusOK {
			after = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail %v after the database came back: %d %v", time.Since(up), status, out)
		}
		if refusedAfter++; refusedAfter == 1 {
			t.Logf("a write %v after the database was back: %d %v", time.Since(up).Round(time.Millisecond), status, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the first write succeeded %v after the database was back (%d refused before)", time.Since(up).Round(time.Millisecond), refusedAfter)
	newKey, _ := after["key"].(string)
	if status, body := callTool(t, inst.Endpoint, newKey, "weather-forecast", `{"text":"after"}`); status != http.StatusOK || !strings.Contains(body, "weather:forecast:after") {
		t.Errorf("a key minted after the outage: %d %.200s", status, body)
	}
	mustAdmin(t, inst, "PUT", "/v1/mcp/server", map[string]any{"server_id": serverID, "description": "after the outage"}, http.StatusAccepted)
	waitFor(t, "the follower to see the store again", func() bool { return strings.Contains(logs.String(), "store readable again") })

	stopLoad()
	load.Wait()
	t.Logf("load: %d calls, %d during the outage, %d failed; latency %s; the slowest sent %v after the database stopped (it was back after %v)",
		calls.Load(), callsDuringOutage, failed.Load(), percentiles(latencies), slowestAt.Sub(down).Round(time.Millisecond), up.Sub(down).Round(time.Millisecond))
	if failed.Load() > 0 {
		t.Errorf("%d of %d tool calls failed:\n%s", failed.Load(), calls.Load(), strings.Join(failures[:min(len(failures), 10)], "\n"))
	}
	text := logs.String()
	for line := range strings.Lines(text) {
		if strings.Contains(line, "store unreadable") || strings.Contains(line, "store readable again") || strings.Contains(line, "reading the revision") {
			t.Logf("log: %s", strings.TrimSpace(line))
		}
	}
	if n := strings.Count(text, "store unreadable"); n != 1 {
		t.Errorf("the follower logged %q %d times, want once", "store unreadable", n)
	}
	if n := strings.Count(text, "store readable again"); n != 1 {
		t.Errorf("the follower logged %q %d times, want once", "store readable again", n)
	}
	if strings.Contains(text, password) {
		t.Error("the gateway's logs show the database password")
	}
}

// TestControlPlaneDatabaseDown: a gateway whose database cannot be
// reached at start refuses to start, at once, with an error naming the
// database (its password redacted), rather than serve without the stored
// keys and servers.
func TestControlPlaneDatabaseDown(t *testing.T) {
	const password = "s3cret-db-password"
	port := mustFreePort(t) // nothing listens there
	dbURL := fmt.Sprintf("postgres://mcpgw:%s@127.0.0.1:%d/mcpgw?sslmode=disable", password, port)
	env := map[string]string{"DATABASE_URL": dbURL, "STORE_MODEL_IN_DB": "True", "LITELLM_SALT_KEY": "e2e-salt-key-0123456789"}
	file, err := configfile.Parse([]byte(fmt.Sprintf(cpConfig, "http://127.0.0.1:9/mcp")), "test.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	rt, err := gateway.Open(ctx, file, slog.New(slog.NewTextHandler(logs, nil)))
	took := time.Since(start)
	t.Logf("gateway.Open with the database down: %v after %v", err, took)
	if err == nil {
		t.Fatalf("Open succeeded with the database down: %+v", rt.Config.Store)
	}
	msg := err.Error()
	for _, want := range []string{"database", fmt.Sprintf("127.0.0.1:%d", port), "unavailable", "connection refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg+logs.String(), password) {
		t.Errorf("the error or the logs show the password: %q", msg)
	}
	if took > 5*time.Second {
		t.Errorf("Open took %v to fail; want it fast", took)
	}
}
