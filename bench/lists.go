package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/config/configfile"
	"github.com/mcpgw/mcpgw/internal/gateway"
)

// The tools/list scenario: many upstreams, listed from the sidecar's
// discovery cache through the whole gateway, by a key whose tool
// permissions hide half the tools of half the servers: the pages are
// filtered for the caller, as issue 14's goal asks.
const (
	listUpstreams = 50
	listTools     = 40
	// listVisible is what the caller key sees: every tool of the second
	// half of the servers, the first listTools/2 tools of the first half.
	listVisible = listUpstreams/2*listTools + listUpstreams/2*listTools/2
	listKey     = "sk-bench-lister-0123456789abcdef0"
)

// listConfig is the scenario's config for the fleet's URLs: a master key
// and the caller key (see listVisible), no decision log (one line per
// list on stderr would drown the report).
func listConfig(urls []string) string {
	var b strings.Builder
	b.WriteString("general_settings:\n  master_key: " + benchMasterKey + "\naccess:\n  decision_log: {output: \"off\"}\n")
	b.WriteString("  keys:\n    - key_alias: bench-lister\n      key: " + listKey + "\n      object_permission:\n        mcp_access_groups: [fleet]\n        mcp_tool_permissions:\n")
	half := make([]string, listTools/2)
	for j := range half {
		half[j] = fmt.Sprintf("tool_%02d", j)
	}
	for i := range listUpstreams / 2 {
		fmt.Fprintf(&b, "          up%02d: [%s]\n", i, strings.Join(half, ", "))
	}
	b.WriteString("mcp_servers:\n")
	for i, u := range urls {
		fmt.Fprintf(&b, "  up%02d:\n    url: %q\n    access_groups: [fleet]\n", i, u)
	}
	return b.String()
}

// fleet is listUpstreams go-sdk servers (stateless, so discovery polls
// them) with listTools tools each, on loopback.
type fleet struct {
	urls    []string
	servers []*http.Server
}

func startFleet() (*fleet, error) {
	f := &fleet{}
	schema := map[string]any{"type": "object", "properties": map[string]any{"text": map[string]any{"type": "string"}}}
	for i := range listUpstreams {
		srv := mcp.NewServer(&mcp.Implementation{Name: fmt.Sprintf("up%02d", i), Version: "1"}, nil)
		for j := range listTools {
			srv.AddTool(&mcp.Tool{Name: fmt.Sprintf("tool_%02d", j), Description: "a tool of a benchmark upstream", InputSchema: schema},
				func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					return &mcp.CallToolResult{}, nil
				})
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.Close()
			return nil, err
		}
		hs := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
			&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true})}
		go func() { _ = hs.Serve(lis) }()
		f.servers = append(f.servers, hs)
		f.urls = append(f.urls, "http://"+lis.Addr().String()+"/mcp")
	}
	return f, nil
}

func (f *fleet) Close() {
	for _, s := range f.servers {
		_ = s.Close()
	}
}

// listResult is the tools/list scenario at one concurrency level.
type listResult struct {
	target      string // "gateway", or "Envoy alone" (the reference)
	protocol    string // the MCP protocol version of the lists
	concurrency int
	window      time.Duration
	pages       []time.Duration // one tools/list request each, sorted
	fulls       []time.Duration // a whole listing (every page), sorted
	tools       int             // tools of all servers
	visible     int             // tools in one whole listing: those the caller may see
	direct      int             // pages Envoy sent the sidecar directly (direct lists), warm-up included
	sent        int             // pages sent, warm-up included
	errors      int
	firstErr    error
}

// runListScenario starts the fleet and a gateway over it, waits until
// every tool is listed, then measures tools/list on /mcp at each
// concurrency level: workers list every page again and again.
func runListScenario(ctx context.Context, o options, progress func(string, ...any)) ([]listResult, error) {
	progress("tools/list: starting %d upstreams x %d tools and the gateway", listUpstreams, listTools)
	f, err := startFleet()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g, err := startListGateway(ctx, o, f, true)
	if err != nil {
		return nil, err
	}
	defer g.close()
	want := listUpstreams * listTools
	var out []listResult
	measureGateway := func(g *listGateway, target string) error {
		for _, n := range o.concurrency {
			progress("tools/list: %s, concurrency %d", target, n)
			before, _ := routeRequests(ctx, g.inst.AdminAddr, "direct_list")
			r, err := measureLists(ctx, g.listers[:n], o.listWarmup, o.listDuration)
			if err != nil {
				return err
			}
			after, _ := routeRequests(ctx, g.inst.AdminAddr, "direct_list")
			r.concurrency, r.tools, r.visible, r.direct = n, want, listVisible, after-before
			r.target, r.protocol = target, o.protocol
			out = append(out, r)
		}
		return nil
	}
	if err := measureGateway(g, "gateway"); err != nil {
		return nil, err
	}
	listers, cl := g.listers, g.cl
	maxConc := len(listers)
	l := g.logs

	// The reference: the same pages, from a plain HTTP server behind
	// Envoy alone (scenario (b)'s Envoy: no ext_proc, no sidecar).
	progress("tools/list: the same pages through Envoy alone")
	sp, err := capturePages(ctx, listers[0])
	if err != nil {
		return nil, err
	}
	if err := sp.start(); err != nil {
		return nil, err
	}
	defer sp.srv.Close()
	brt, err := runtimeFor(sp.url, false)
	if err != nil {
		return nil, err
	}
	tg, err := startBaselineEnvoy(ctx, o.envoyBin, brt, l, false)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	base := make([]*lister, maxConc)
	for i := range base {
		base[i] = &lister{hc: &http.Client{Transport: cl.tr}, endpoint: tg.endpoint, protocol: o.protocol, header: tg.header}
	}
	for _, n := range o.concurrency {
		progress("tools/list: Envoy alone, concurrency %d", n)
		r, err := measureLists(ctx, base[:n], o.listWarmup, o.listDuration)
		if err != nil {
			return nil, err
		}
		r.concurrency, r.tools, r.visible, r.target, r.protocol = n, want, listVisible, "Envoy alone", o.protocol
		out = append(out, r)
	}

	// And the gateway without direct lists (fast_path: false): every
	// page through ext_proc, as before them.
	g.close()
	full, err := startListGateway(ctx, o, f, false)
	if err != nil {
		return nil, err
	}
	defer full.close()
	if err := measureGateway(full, "fast_path: false"); err != nil {
		return nil, err
	}
	return out, nil
}

// listGateway is a gateway over the fleet with listers of the caller
// key, ready: discovery has listed every tool.
type listGateway struct {
	inst    *gateway.Instance
	cl      *clients
	listers []*lister
	logs    *logs
	once    sync.Once
}

func (g *listGateway) close() {
	g.once.Do(func() {
		g.cl.Close()
		g.inst.Close()
	})
}

// startListGateway starts a gateway over f (direct lists on, or
// gateway.fast_path: false), opens a session per worker and waits until
// the master key lists every tool and the caller key its share.
func startListGateway(ctx context.Context, o options, f *fleet, direct bool) (*listGateway, error) {
	text := listConfig(f.urls)
	if !direct {
		text += "gateway:\n  fast_path: false\n"
	}
	cfg, err := configfile.Parse([]byte(text), "bench-lists.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	rt, err := gateway.Build(cfg)
	if err != nil {
		return nil, err
	}
	l := &logs{}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	inst, err := gateway.Start(ctx, rt, gateway.Options{EnvoyBin: o.envoyBin, Port: ports[0], EnvoyOutput: l,
		Logger: slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return nil, err
	}
	// Sessions come from go-sdk clients; the lists themselves are raw
	// HTTP (see lister).
	maxConc := slices.Max(o.concurrency)
	key := http.Header{"X-Litellm-Api-Key": {"Bearer " + listKey}}
	cl, err := openClients(ctx, &target{endpoint: inst.Endpoint, header: key}, maxConc, o.protocol)
	if err != nil {
		inst.Close()
		return nil, err
	}
	g := &listGateway{inst: inst, cl: cl, logs: l}
	for _, cs := range cl.sessions {
		g.listers = append(g.listers, &lister{hc: &http.Client{Transport: cl.tr}, endpoint: inst.Endpoint, session: cs.ID(),
			protocol: cs.InitializeResult().ProtocolVersion, header: key})
	}
	// The master key sees every tool: discovery is complete when it
	// does; the caller must then see exactly its share.
	master := &lister{hc: &http.Client{Transport: cl.tr}, endpoint: inst.Endpoint, protocol: o.protocol,
		header: http.Header{"X-Litellm-Api-Key": {"Bearer " + benchMasterKey}}}
	if o.protocol < "2026-07-28" { // later versions have no sessions
		if master.session, err = openSession(ctx, master); err != nil {
			g.close()
			return nil, err
		}
	}
	want := listUpstreams * listTools
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, _, err := master.all(ctx)
		if err == nil && n == want {
			break
		}
		if time.Now().After(deadline) {
			g.close()
			return nil, fmt.Errorf("gateway lists %d tools to the master key (error %v), want %d", n, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, _, err := g.listers[0].all(ctx); err != nil || n != listVisible {
		g.close()
		return nil, fmt.Errorf("gateway lists %d tools to the caller key (error %v), want %d", n, err, listVisible)
	}
	return g, nil
}

// lister lists tools over plain HTTP on a session go-sdk opened: one
// POST per page, the whole answer read and decoded (tool count and
// nextCursor). go-sdk's ClientSession.ListTools would measure mostly the
// client: it validates every tool it receives, which costs more CPU than
// the gateway spends serving the page.
type lister struct {
	hc                          *http.Client
	endpoint, session, protocol string
	header                      http.Header // the caller's key
	id                          int
	buf                         bytes.Buffer // the last answer
}

// openSession initializes a session for l (plain HTTP, as l lists) and
// returns its id.
func openSession(ctx context.Context, l *lister) (string, error) {
	body := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + l.protocol +
		`","capabilities":{},"clientInfo":{"name":"mcpgw-bench","version":"1"}}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	setMCPHeaders(req.Header, l.protocol, "")
	maps.Copy(req.Header, l.header)
	resp, err := l.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("initialize: HTTP %d: %.200s", resp.StatusCode, data)
	}
	return resp.Header.Get("Mcp-Session-Id"), nil
}

// all lists every page; it returns the tools and each page's latency.
func (l *lister) all(ctx context.Context) (int, []time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var lat []time.Duration
	n, cursor := 0, ""
	for {
		got, next, took, err := l.page(ctx, cursor)
		lat = append(lat, took)
		n += got
		if err != nil || next == "" {
			return n, lat, err
		}
		cursor = next
	}
}

// page lists one page. Its latency is from sending the request to the
// answer's last byte: decoding it (the check of what came back) happens
// after the clock stops, as it is the client's work, not the gateway's.
func (l *lister) page(ctx context.Context, cursor string) (int, string, time.Duration, error) {
	data, ctype, took, err := l.fetch(ctx, cursor)
	if err != nil {
		return 0, "", took, err
	}
	n, next, err := decodePage(data, ctype)
	return n, next, took, err
}

// fetch sends one tools/list and reads the whole answer.
func (l *lister) fetch(ctx context.Context, cursor string) (data []byte, contentType string, took time.Duration, err error) {
	l.id++
	params := map[string]any{}
	if cursor != "" {
		params["cursor"] = cursor
	}
	modern := l.protocol >= "2026-07-28"
	if modern {
		// A 2026-07-28 request carries its version and the client's
		// capabilities in _meta, and its method in Mcp-Method.
		params["_meta"] = map[string]any{"io.modelcontextprotocol/protocolVersion": l.protocol,
			"io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": l.id, "method": "tools/list", "params": params})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, "", 0, err
	}
	setMCPHeaders(req.Header, l.protocol, l.session)
	if modern {
		req.Header.Set("Mcp-Method", "tools/list")
	}
	maps.Copy(req.Header, l.header)
	t0 := time.Now()
	resp, err := l.hc.Do(req)
	if err != nil {
		return nil, "", time.Since(t0), err
	}
	// Read into the lister's own buffer: a load generator that makes
	// garbage slows the gateway it shares a process with (its GC).
	l.buf.Reset()
	_, err = l.buf.ReadFrom(resp.Body)
	data = l.buf.Bytes()
	took = time.Since(t0)
	resp.Body.Close()
	if err != nil {
		return nil, "", took, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", took, fmt.Errorf("tools/list: HTTP %d: %.200s", resp.StatusCode, data)
	}
	return data, resp.Header.Get("Content-Type"), took, nil
}

// decodePage reads a tools/list answer: its tool count and nextCursor.
func decodePage(data []byte, contentType string) (int, string, error) {
	if strings.HasPrefix(contentType, "text/event-stream") {
		// One message event: its data line is the JSON-RPC response.
		i := bytes.Index(data, []byte("data: "))
		if i < 0 {
			return 0, "", fmt.Errorf("tools/list: no data in event stream %.200q", data)
		}
		data = data[i+len("data: "):]
		if j := bytes.IndexByte(data, '\n'); j >= 0 {
			data = data[:j]
		}
	}
	// Each tool decodes into nothing (struct{}): the whole answer is
	// checked, and counted, without keeping it.
	var msg struct {
		Result *struct {
			Tools      []struct{} `json:"tools"`
			NextCursor string     `json:"nextCursor"`
		} `json:"result"`
		Error *struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		return 0, "", fmt.Errorf("tools/list: %w", err)
	}
	if msg.Result == nil {
		return 0, "", fmt.Errorf("tools/list: error %+v", msg.Error)
	}
	return len(msg.Result.Tools), msg.Result.NextCursor, nil
}

// staticPages is the reference for the tools/list rows: a plain HTTP
// server answering each page with the bytes the gateway answered it
// with, by cursor, so that Envoy alone in front of it shows what moving
// those bytes costs without the gateway.
type staticPages struct {
	pages map[string][]byte // by cursor ("" the first)
	ctype string
	srv   *http.Server
	url   string
}

// capturePages lists every page through l and keeps the answers.
func capturePages(ctx context.Context, l *lister) (*staticPages, error) {
	sp := &staticPages{pages: map[string][]byte{}}
	cursor := ""
	for {
		data, ctype, _, err := l.fetch(ctx, cursor)
		if err != nil {
			return nil, err
		}
		_, next, err := decodePage(data, ctype)
		if err != nil {
			return nil, err
		}
		sp.pages[cursor], sp.ctype = bytes.Clone(data), ctype
		if next == "" {
			return sp, nil
		}
		cursor = next
	}
}

func (sp *staticPages) start() error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sp.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Params struct {
				Cursor string `json:"cursor"`
			} `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		page, ok := sp.pages[req.Params.Cursor]
		if !ok {
			http.Error(w, "no such page", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", sp.ctype)
		w.Write(page)
	})}
	go func() { _ = sp.srv.Serve(lis) }()
	sp.url = "http://" + lis.Addr().String() + "/mcp"
	return nil
}

func measureLists(ctx context.Context, listers []*lister, warmup, window time.Duration) (listResult, error) {
	winStart := time.Now().Add(warmup)
	winEnd := winStart.Add(window)
	r := listResult{window: window}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range listers {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(winEnd) {
					return
				}
				n, pages, err := l.all(ctx)
				t1 := time.Now()
				mu.Lock()
				r.sent += len(pages)
				mu.Unlock()
				if t0.Before(winStart) || t1.After(winEnd) {
					continue
				}
				if err == nil && n != listVisible {
					err = fmt.Errorf("listed %d tools, want %d", n, listVisible)
				}
				mu.Lock()
				if err != nil {
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
				} else {
					// A whole listing's latency is its pages' (the
					// decoding between them is the client's).
					var full time.Duration
					for _, p := range pages {
						full += p
					}
					r.pages = append(r.pages, pages...)
					r.fulls = append(r.fulls, full)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	slices.Sort(r.pages)
	slices.Sort(r.fulls)
	if len(r.fulls) == 0 {
		return r, fmt.Errorf("no tools/list succeeded in the measured window (%d errors; first: %v)", r.errors, r.firstErr)
	}
	return r, nil
}

// pctOf is the nearest-rank percentile of sorted durations.
func pctOf(sorted []time.Duration, p float64) time.Duration {
	return result{latencies: sorted}.pct(p)
}

func printListReport(w io.Writer, rs []listResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nMCP tools/list from the discovery cache: %d upstreams x %d tools = %d tools through the gateway (/mcp, page size 500),\n"+
		"listed by a key whose tool permissions leave it %d of them\n\n",
		listUpstreams, listTools, rs[0].tools, rs[0].visible)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "protocol\tthrough\tconc\tlistings\terrors\tpage p50 ms\tpage p99 ms\tfull list p50 ms\tfull list p99 ms\tlistings/s\tdirect\t")
	for _, r := range rs {
		direct := "-"
		if r.target != "Envoy alone" {
			direct = fmt.Sprintf("%d/%d", r.direct, r.sent)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.0f\t%s\t\n", r.protocol, r.target, r.concurrency, len(r.fulls), r.errors,
			ms(pctOf(r.pages, 50)), ms(pctOf(r.pages, 99)), ms(pctOf(r.fulls, 50)), ms(pctOf(r.fulls, 99)),
			float64(len(r.fulls))/r.window.Seconds(), direct)
	}
	tw.Flush()
	fmt.Fprintf(w, "(a page is one tools/list POST of up to 500 tools, timed from sending it to its last byte, then decoded and\n"+
		" counted off the clock; a full list follows the gateway's cursor through every page, its pages' time summed;\n"+
		" one session per worker, opened by go-sdk, the lists sent as plain HTTP; direct: pages Envoy sent the sidecar\n"+
		" without ext_proc (direct lists, Envoy's route stats) of all sent, warm-up included; Envoy alone: the same\n"+
		" pages, as the gateway answered them, from a plain HTTP server behind Envoy without ext_proc; fast_path: false:\n"+
		" the gateway without direct lists, every page through ext_proc;\n"+
		" issue 14's goal: a 500-tool page, filtered for the caller, in <= 1 ms p50 at concurrency 1)\n")
}

// setMCPHeaders sets what a Streamable HTTP client sends with a POST:
// media types, protocol version and, when there is one, its session.
func setMCPHeaders(h http.Header, protocol, session string) {
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set("Mcp-Protocol-Version", protocol)
	if session != "" {
		h.Set("Mcp-Session-Id", session)
	}
}
