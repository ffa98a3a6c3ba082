package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/controlplane"
	"github.com/mcpgw/mcpgw/controlplane/store"
	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
	"github.com/mcpgw/mcpgw/upstreams/demo"
)

// The control-plane scenarios (issue 12): how soon an admin write on one
// gateway is served by another sharing its store, and what 10,000 keys
// and 1,000 servers in the store cost at start, in memory, per call and
// per write.

const (
	cpMaster = "sk-bench-master-0123456789abcdef"
	cpSalt   = "bench-salt-key-0123456789"
	// cpVisibleTimeout bounds waiting for one write to show on a replica;
	// a write not visible by then is an error, not a measurement.
	cpVisibleTimeout = 20 * time.Second
	// cpDeletes is how many key deletes the scale scenario times.
	cpDeletes = 5
)

// cpOptions select and size the control-plane scenarios.
type cpOptions struct {
	visible    bool     // write-to-visible on two replicas
	scale      bool     // 10,000 keys and 1,000 servers
	stores     []string // "sqlite", "postgres": for visible
	scaleStore string   // the store of the scale scenario
	writes     int      // key generations (then as many deletes) per store
	keys       int
	servers    int
	callWindow time.Duration // decision latency: measured window
}

// cpStore is one fresh database for a run: its URL and how to drop it.
type cpStore struct {
	name string // "sqlite" or "postgres"
	url  string
	drop func()
}

// freshStore makes an empty database of kind: a file in a new directory
// (SQLite) or a new database on the PostgreSQL server (postgresAdmin).
func freshStore(ctx context.Context, kind string) (*cpStore, error) {
	switch kind {
	case "sqlite":
		dir, err := os.MkdirTemp("", "mcpgw-bench-db-")
		if err != nil {
			return nil, err
		}
		return &cpStore{name: kind, url: "sqlite:" + filepath.Join(dir, "mcpgw.db"), drop: func() { os.RemoveAll(dir) }}, nil
	case "postgres":
		admin, err := postgresAdmin()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNoPostgres, err)
		}
		return freshPostgres(ctx, admin)
	}
	return nil, fmt.Errorf("unknown store %q (sqlite, postgres)", kind)
}

// postgresAdmin is $MCPGW_POSTGRES_URL, else the URL of the server
// scripts/ensure-postgres.sh starts (or finds running).
func postgresAdmin() (string, error) {
	if u := os.Getenv("MCPGW_POSTGRES_URL"); u != "" {
		return u, nil
	}
	cmd := exec.Command("scripts/ensure-postgres.sh")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("no MCPGW_POSTGRES_URL, and scripts/ensure-postgres.sh failed: %v: %s", err, lastLine(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// freshPostgres creates a database for this run on the server at admin
// and drops it (with any connection left) afterwards.
func freshPostgres(ctx context.Context, admin string) (*cpStore, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := "mcpgw_bench_" + hex.EncodeToString(suffix)
	run := func(ctx context.Context, sql string) error {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := run(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("postgres: create database: %w", err)
	}
	u.Path = "/" + name
	return &cpStore{name: "postgres", url: u.String(), drop: func() {
		if err := run(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "bench: dropping database %s: %v\n", name, err)
		}
	}}, nil
}

// cpUpstream is the demo MCP server, stateless, so that a thousand
// servers in the store can all point at it without a thousand upstream
// sessions (discovery and calls send each request on its own).
type cpUpstream struct {
	url string
	srv *http.Server
}

func startCPUpstream() (*cpUpstream, error) {
	s := demo.NewServer()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true})
	u := &cpUpstream{url: "http://" + lis.Addr().String() + "/mcp", srv: &http.Server{Handler: h}}
	go func() { _ = u.srv.Serve(lis) }()
	return u, nil
}

func (u *cpUpstream) Close() { _ = u.srv.Close() }

// cpGateway is one started gateway with a store, and how long it took.
type cpGateway struct {
	inst    *gateway.Instance
	base    string // http://host:port, the admin API's and /mcp's origin
	started time.Duration
	logs    *logs
}

// startCPGateway opens the store at dbURL (gateway.Open) and starts a
// gateway over it (gateway.Start); started is the time of both, until
// Envoy is ready and has the first clusters.
func startCPGateway(ctx context.Context, o options, dbURL, fileServers string) (*cpGateway, error) {
	text := `general_settings:
  master_key: ` + cpMaster + `
  mcp_tool_prefix_separator: "-"
gateway:
  discovery_ttl: 600
access:
  decision_log: {output: "/dev/null"}
`
	if fileServers != "" {
		text += "mcp_servers:\n" + fileServers
	}
	env := map[string]string{"DATABASE_URL": dbURL, "STORE_MODEL_IN_DB": "True", "LITELLM_SALT_KEY": cpSalt}
	file, err := configfile.Parse([]byte(text), "bench-cp.yaml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	l := &logs{}
	log := slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	rt, err := gateway.Open(ctx, file, log)
	if err != nil {
		return nil, err
	}
	inst, err := gateway.Start(ctx, rt, gateway.Options{EnvoyBin: o.envoyBin, Port: ports[0], EnvoyOutput: l, Logger: log})
	if err != nil {
		if o.verbose {
			fmt.Fprintf(os.Stderr, "--- gateway logs ---\n%s\n", l.String())
		}
		return nil, err
	}
	return &cpGateway{inst: inst, base: strings.TrimSuffix(inst.Endpoint, "/mcp"), started: time.Since(t0), logs: l}, nil
}

func (g *cpGateway) Close() { _ = g.inst.Close() }

// cpClient sends admin and MCP requests as plain HTTP on kept-alive
// connections.
type cpClient struct{ hc *http.Client }

func newCPClient() *cpClient {
	return &cpClient{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second}}}
}

// admin sends one admin API request with the master key; a status other
// than want is an error.
func (c *cpClient) admin(ctx context.Context, g *cpGateway, method, path string, body any, want int) (map[string]any, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cpMaster)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: HTTP %d: %.300s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out, nil
}

// callStatus posts one sessionless tools/call of tool (the demo echo)
// with key and returns the HTTP status; 200 only when the echo came back.
func (c *cpClient) callStatus(ctx context.Context, g *cpGateway, key, tool string) (int, error) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{"text":%q}}}`, tool, echoText)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.inst.Endpoint, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("x-litellm-api-key", key)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && (!bytes.Contains(raw, []byte(echoText)) || bytes.Contains(raw, []byte(`"isError":true`))) {
		return 0, fmt.Errorf("tools/call %s: 200 without the echo: %.300s", tool, raw)
	}
	return resp.StatusCode, nil
}

// waitStatus calls tool with key through g again and again, with no
// pause, until the answer has status want; it returns when that was.
func (c *cpClient) waitStatus(ctx context.Context, g *cpGateway, key, tool string, want int) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, cpVisibleTimeout)
	defer cancel()
	for {
		status, err := c.callStatus(ctx, g, key, tool)
		now := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return now, fmt.Errorf("not HTTP %d within %v: %w", want, cpVisibleTimeout, err)
			}
			return now, err
		}
		if status == want {
			return now, nil
		}
	}
}

// visibleResult is one kind of write on one store.
type visibleResult struct {
	store   string
	write   string
	admin   []time.Duration // request sent to A's 2xx (A serves it by then)
	visible []time.Duration // A's 2xx to B's first answer that shows it
}

// runVisible starts two gateways on one fresh store and times writes
// through A until B serves them: o.writes key generations (the key's
// first 200 through B), then as many key deletes (its first 401).
func runVisible(ctx context.Context, o options, cp cpOptions, kind string, up *cpUpstream, progress func(string, ...any)) ([]visibleResult, error) {
	st, err := freshStore(ctx, kind)
	if err != nil {
		return nil, err
	}
	defer st.drop()
	servers := fmt.Sprintf("  demo:\n    url: %q\n    transport: http\n", up.url)
	progress("write-to-visible on %s: starting two gateways", kind)
	a, err := startCPGateway(ctx, o, st.url, servers)
	if err != nil {
		return nil, fmt.Errorf("replica A: %w", err)
	}
	defer a.Close()
	b, err := startCPGateway(ctx, o, st.url, servers)
	if err != nil {
		return nil, fmt.Errorf("replica B: %w", err)
	}
	defer b.Close()
	c := newCPClient()
	const tool = "demo-echo"

	gen := visibleResult{store: kind, write: "key generate (first 200)"}
	del := visibleResult{store: kind, write: "key delete (first 401)"}
	keys := make([]string, 0, cp.writes)
	progress("write-to-visible on %s: %d key generations, then %d deletes", kind, cp.writes, cp.writes)
	for i := range cp.writes {
		t0 := time.Now()
		out, err := c.admin(ctx, a, "POST", "/key/generate", map[string]any{
			"key_alias":         fmt.Sprintf("bench-%03d", i),
			"object_permission": map[string]any{"mcp_servers": []string{"demo"}},
		}, http.StatusOK)
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		key, _ := out["key"].(string)
		at, err := c.waitStatus(ctx, b, key, tool, http.StatusOK)
		if err != nil {
			return nil, fmt.Errorf("key %d on replica B: %w", i, err)
		}
		gen.admin = append(gen.admin, t1.Sub(t0))
		gen.visible = append(gen.visible, at.Sub(t1))
		keys = append(keys, key)
	}
	for i, key := range keys {
		t0 := time.Now()
		if _, err := c.admin(ctx, a, "POST", "/key/delete", map[string]any{"keys": []string{key}}, http.StatusOK); err != nil {
			return nil, err
		}
		t1 := time.Now()
		at, err := c.waitStatus(ctx, b, key, tool, http.StatusUnauthorized)
		if err != nil {
			return nil, fmt.Errorf("deleted key %d on replica B: %w", i, err)
		}
		del.admin = append(del.admin, t1.Sub(t0))
		del.visible = append(del.visible, at.Sub(t1))
	}
	return []visibleResult{gen, del}, nil
}

// scaleSide is one gateway of the scale scenario: its size and figures.
type scaleSide struct {
	servers, keys int
	insert        time.Duration // objects written into the store
	start         time.Duration // gateway.Open + gateway.Start
	firstCall     time.Duration // from ready to the key's first 200
	heap          int64         // live Go heap after start, minus before
	rss           int64         // this process's RSS after start, minus before
	envoyHeap     int64         // Envoy's allocated heap (its admin /memory)
	calls         result        // decision latency
	delAdmin      []time.Duration
	delVisible    []time.Duration
}

// runScale measures a gateway over a store with cp.keys keys and
// cp.servers servers, and one with a key and a server, the same way.
func runScale(ctx context.Context, o options, cp cpOptions, up *cpUpstream, progress func(string, ...any)) ([]scaleSide, error) {
	var out []scaleSide
	for _, size := range [][2]int{{1, 1}, {cp.servers, cp.keys}} {
		s, err := scaleOne(ctx, o, cp, up, size[0], size[1], progress)
		if err != nil {
			return nil, fmt.Errorf("%d servers, %d keys: %w", size[0], size[1], err)
		}
		out = append(out, s)
	}
	return out, nil
}

func scaleOne(ctx context.Context, o options, cp cpOptions, up *cpUpstream, nServers, nKeys int, progress func(string, ...any)) (side scaleSide, err error) {
	side.servers, side.keys = nServers, nKeys
	st, err := freshStore(ctx, cp.scaleStore)
	if err != nil {
		return side, err
	}
	defer st.drop()
	progress("scale on %s: storing %d servers and %d keys", st.name, nServers, nKeys)
	t0 := time.Now()
	keys, err := fillStore(ctx, st.url, up.url, nServers, nKeys)
	if err != nil {
		return side, err
	}
	side.insert = time.Since(t0)

	heap0, rss0 := memNow()
	progress("scale on %s: starting the gateway", st.name)
	g, err := startCPGateway(ctx, o, st.url, "")
	if err != nil {
		return side, err
	}
	defer g.Close()
	side.start = g.started
	c := newCPClient()
	const tool = "s0000-echo" // the first key may call only this tool
	ready := time.Now()
	if _, err := c.waitStatus(ctx, g, keys[0], tool, http.StatusOK); err != nil {
		return side, fmt.Errorf("the first key's tool: %w", err)
	}
	side.firstCall = time.Since(ready)
	// The permission is per tool: another tool of the same server is
	// refused (a sanity check that the decision is the one timed).
	if status, err := c.callStatus(ctx, g, keys[0], "s0000-add"); err != nil || status == http.StatusOK {
		return side, fmt.Errorf("a tool outside the key's mcp_tool_permissions: HTTP %d, %v", status, err)
	}
	heap1, rss1 := memNow()
	side.heap, side.rss = heap1-heap0, rss1-rss0
	side.envoyHeap = envoyAllocated(ctx, g.inst.AdminAddr)

	progress("scale on %s: tools/call with a per-tool key, %v", st.name, cp.callWindow)
	tg := &target{endpoint: g.inst.Endpoint, tool: tool, header: http.Header{"X-Litellm-Api-Key": {keys[0]}}}
	cl, err := openClients(ctx, tg, 1, o.protocol)
	if err != nil {
		return side, err
	}
	side.calls, err = measure(ctx, tg, cl.sessions, &upstream{}, time.Second, cp.callWindow)
	cl.Close()
	if err != nil {
		return side, err
	}

	// Key deletes at this size: the admin API answers once this gateway
	// serves the change, so the 401 should follow at once.
	// The last keys go (the first, whose calls were timed, goes last).
	for _, key := range keys[len(keys)-min(cpDeletes, len(keys)):] {
		t0 := time.Now()
		if _, err := c.admin(ctx, g, "POST", "/key/delete", map[string]any{"keys": []string{key}}, http.StatusOK); err != nil {
			return side, err
		}
		t1 := time.Now()
		at, err := c.waitStatus(ctx, g, key, tool, http.StatusUnauthorized)
		if err != nil {
			return side, fmt.Errorf("a deleted key: %w", err)
		}
		side.delAdmin = append(side.delAdmin, t1.Sub(t0))
		side.delVisible = append(side.delVisible, at.Sub(t1))
	}
	return side, nil
}

// fillStore writes nServers servers (s0000...; all at upstream) and
// nKeys keys into the store at dbURL, straight through the store, each
// as the admin API would store it. Key i may call tool echo of server
// i mod nServers only (mcp_tool_permissions). It returns the keys.
func fillStore(ctx context.Context, dbURL, upstream string, nServers, nKeys int) ([]string, error) {
	st, err := store.Open(ctx, dbURL, store.Options{EncryptionKey: cpSalt})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	const actor = "bench"
	for i := range nServers {
		name := fmt.Sprintf("s%04d", i)
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		doc := map[string]any{"server_id": id, "server_name": name, "url": upstream, "transport": "http"}
		if _, err := st.Create(ctx, controlplane.Object{Kind: controlplane.KindServer, ID: id, Name: name, Doc: mustMarshal(doc)}, actor); err != nil {
			return nil, fmt.Errorf("store server %s: %w", name, err)
		}
	}
	keys := make([]string, nKeys)
	for i := range nKeys {
		keys[i] = fmt.Sprintf("sk-bench-%08d-%s", i, strings.Repeat("x", 24))
		sum := sha256.Sum256([]byte(keys[i]))
		token := hex.EncodeToString(sum[:])
		alias := fmt.Sprintf("k%05d", i)
		server := fmt.Sprintf("s%04d", i%nServers)
		doc := map[string]any{"token": token, "key_alias": alias, "object_permission": map[string]any{
			"mcp_servers":          []string{server},
			"mcp_tool_permissions": map[string]any{server: []string{"echo"}},
		}}
		if _, err := st.Create(ctx, controlplane.Object{Kind: controlplane.KindKey, ID: token, Name: alias, Doc: mustMarshal(doc)}, actor); err != nil {
			return nil, fmt.Errorf("store key %s: %w", alias, err)
		}
	}
	return keys, nil
}

func mustMarshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// memNow is this process's live Go heap after a collection, and its
// resident set (VmRSS) after the freed memory went back to the OS.
func memNow() (heap, rss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), vmRSS()
}

// vmRSS reads VmRSS from /proc/self/status (0 where there is none).
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// envoyAllocated is the heap Envoy reports allocated (admin /memory);
// 0 when it does not answer.
func envoyAllocated(ctx context.Context, adminAddr string) int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+adminAddr+"/memory", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var m struct {
		Allocated string `json:"allocated"`
	}
	if json.NewDecoder(resp.Body).Decode(&m) != nil {
		return 0
	}
	n, _ := strconv.ParseInt(m.Allocated, 10, 64)
	return n
}

// runControlPlane runs the selected control-plane scenarios. A store
// that cannot be had (no PostgreSQL) is skipped with a note, not an
// error.
func runControlPlane(ctx context.Context, o options, cp cpOptions, progress func(string, ...any)) (*cpReport, error) {
	up, err := startCPUpstream()
	if err != nil {
		return nil, err
	}
	defer up.Close()
	rep := &cpReport{opts: cp}
	if cp.visible {
		for _, kind := range cp.stores {
			rs, err := runVisible(ctx, o, cp, kind, up, progress)
			if err != nil {
				if kind == "postgres" && isNoPostgres(err) {
					rep.skipped = append(rep.skipped, fmt.Sprintf("write-to-visible on postgres: %v", err))
					continue
				}
				return nil, fmt.Errorf("write-to-visible on %s: %w", kind, err)
			}
			rep.visible = append(rep.visible, rs...)
		}
	}
	if cp.scale {
		sides, err := runScale(ctx, o, cp, up, progress)
		switch {
		case err != nil && cp.scaleStore == "postgres" && isNoPostgres(err):
			rep.skipped = append(rep.skipped, fmt.Sprintf("scale on postgres: %v", err))
		case err != nil:
			return nil, fmt.Errorf("scale on %s: %w", cp.scaleStore, err)
		default:
			rep.scale = sides
		}
	}
	return rep, nil
}

var errNoPostgres = errors.New("no PostgreSQL")

func isNoPostgres(err error) bool { return errors.Is(err, errNoPostgres) }

// cpReport is what the control-plane scenarios found.
type cpReport struct {
	opts    cpOptions
	visible []visibleResult
	scale   []scaleSide
	skipped []string
}

// sortedCopy returns d sorted, leaving d as it is.
func sortedCopy(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
