package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func printReport(w io.Writer, o options, envoyVersion string, results []result) {
	fmt.Fprintf(w, "\nMCP tools/call benchmark at MCP %s: demo echo tool, go-sdk client sessions, all on loopback\n\n", o.protocol)
	fmt.Fprintf(w, "machine:  %s/%s, NumCPU %d, GOMAXPROCS %d, %s, Envoy %s (one worker thread per CPU, Envoy's default)\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), envoyVersion)
	fmt.Fprintf(w, "run:      per row %v measured in %d slices of %v, taken in turn with the other rows' (every set-up running at once),\n"+
		"          after %v warm-up (%v before each later slice); one client session per worker (MCP %s), opened once per scenario\n",
		o.duration, o.rounds, o.duration/time.Duration(o.rounds), o.warmup, sliceWarmup, o.protocol)
	fmt.Fprintf(w, "note:     one run on one machine; the client, upstream, ext_proc, sidecar and Envoy share its CPUs.\n")
	fmt.Fprintf(w, "          Compare scenarios and ratios within a run, not absolute numbers across machines.\n\n")

	byKey := map[string]map[int]result{}
	for _, r := range results {
		if byKey[r.key] == nil {
			byKey[r.key] = map[int]result{}
		}
		byKey[r.key][r.concurrency] = r
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// tabwriter right-aligns every column; padding keeps scenario left-aligned.
	fmt.Fprintf(tw, "%-34s\tconc\tcalls\terrors\tp50 ms\tp90 ms\tp99 ms\tcalls/s\tupstream inits/1k calls\t\n", "scenario")
	for _, n := range o.concurrency {
		for _, k := range []string{"a", "b", "d", "c", "e", "h", "i", "g", "f"} {
			r, ok := byKey[k][n]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%.0f\t%.2f\t\n", fmt.Sprintf("%-34s", r.scenario), n, r.calls(), r.errors,
				ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), r.throughput(), r.initsPer1000())
		}
	}
	tw.Flush()
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	headed := false
	for _, n := range o.concurrency {
		a, okA := byKey["a"][n]
		b, okB := byKey["b"][n]
		c, okC := byKey["c"][n]
		if !okA || !okB || !okC {
			continue
		}
		if !headed {
			headed = true
			fmt.Fprintf(w, "Gateway overhead as ratios (latency: >1 is slower; throughput: <1 is fewer calls/s)\n\n")
			fmt.Fprintln(tw, "conc\tp50 c/b\tp99 c/b\tcalls/s c/b\tp50 c/a\tp99 c/a\tcalls/s c/a\t")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", n,
			ratio(c.pct(50).Seconds(), b.pct(50).Seconds()), ratio(c.pct(99).Seconds(), b.pct(99).Seconds()),
			ratio(c.throughput(), b.throughput()),
			ratio(c.pct(50).Seconds(), a.pct(50).Seconds()), ratio(c.pct(99).Seconds(), a.pct(99).Seconds()),
			ratio(c.throughput(), a.throughput()))
	}
	tw.Flush()

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	headed = false
	for _, n := range o.concurrency {
		b, okB := byKey["b"][n]
		for _, k := range []string{"d", "c", "e", "h", "i", "g"} {
			r, ok := byKey[k][n]
			if !ok || !okB {
				continue
			}
			if !headed {
				headed = true
				fmt.Fprintf(w, "\nAgainst Envoy alone (b): added latency in ms, throughput as a ratio (issue 14's goal for a key with\n"+
					"tool permissions and allowed_params, (e) and (h): p50 +0.3 ms, p99 +1 ms at concurrency 1; calls/s >= 0.7x at 1 and 16)\n\n")
				fmt.Fprintf(tw, "%-34s\tconc\tp50 +ms\tp99 +ms\tcalls/s x\t\n", "scenario")
			}
			fmt.Fprintf(tw, "%s\t%d\t%+.3f\t%+.3f\t%s\t\n", fmt.Sprintf("%-34s", r.scenario), n,
				(r.pct(50)-b.pct(50)).Seconds()*1000, (r.pct(99)-b.pct(99)).Seconds()*1000, ratio(r.throughput(), b.throughput()))
		}
	}
	tw.Flush()

	headed = false
	for _, n := range o.concurrency {
		c, okC := byKey["c"][n]
		g, okG := byKey["g"][n]
		if !okC || !okG {
			continue
		}
		if !headed {
			headed = true
			fmt.Fprintf(w, "\nTracing (g) against none (c): the gateway with metrics (always on) and every request traced, exported over OTLP/gRPC\n\n")
			fmt.Fprintf(tw, "conc\tp50 +ms\tp99 +ms\tcalls/s g/c\tspans exported by the window's end\t\n")
		}
		fmt.Fprintf(tw, "%d\t%+.3f\t%+.3f\t%s\t%s\t\n", n, (g.pct(50)-c.pct(50)).Seconds()*1000, (g.pct(99)-c.pct(99)).Seconds()*1000,
			ratio(g.throughput(), c.throughput()), g.spans)
	}
	tw.Flush()

	headed = false
	for _, n := range o.concurrency {
		c, okC := byKey["c"][n]
		f, okF := byKey["f"][n]
		if !okC || !okF {
			continue
		}
		if !headed {
			headed = true
			fmt.Fprintf(w, "\nGateway (c) against the LiteLLM proxy (f)%s, same upstream, same load\n\n", o.litellmVersion)
			fmt.Fprintln(tw, "conc\tp50 c/f\tp99 c/f\tcalls/s c/f\t")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", n, ratio(c.pct(50).Seconds(), f.pct(50).Seconds()),
			ratio(c.pct(99).Seconds(), f.pct(99).Seconds()), ratio(c.throughput(), f.throughput()))
	}
	tw.Flush()

	for _, k := range []string{"e", "h", "i"} {
		var line strings.Builder
		for _, n := range o.concurrency {
			if r, ok := byKey[k][n]; ok {
				fmt.Fprintf(&line, "  conc %d: %d (%d calls measured)", n, r.fastCalls, r.calls())
			}
		}
		if line.Len() > 0 {
			fmt.Fprintf(w, "\n(%s) calls decided by Envoy's fast path, warm-up included:%s", k, line.String())
		}
	}
	fmt.Fprintln(w)
	for _, k := range []string{"c", "e"} {
		var line strings.Builder
		for _, n := range o.concurrency {
			if c, ok := byKey[k][n]; ok {
				fmt.Fprintf(&line, "  conc %d: %.2f (%d in %d calls)", n, c.initsPer1000(), c.initsAfter-c.initsBefore, c.calls())
			}
		}
		if line.Len() == 0 {
			continue
		}
		fmt.Fprintf(w, "\n(%s) upstream initialize per 1000 tools/call after warm-up (goal 0):%s", k, line.String())
		fmt.Fprintf(w, "\n(%s) upstream initialize during session set-up and warm-up:", k)
		for _, n := range o.concurrency {
			if c, ok := byKey[k][n]; ok {
				fmt.Fprintf(w, "  before conc %d: %d", n, c.warmupInits)
			}
		}
	}
	fmt.Fprintf(w, "\n    (expected: one per client session, on its first call, when the gateway opens its upstream session;\n"+
		"    for 2026-07-28 clients, which have no session, up to one per call running at once: their calls lease upstream sessions)\n")

	var errs []string
	for _, r := range results {
		if r.errors > 0 {
			errs = append(errs, fmt.Sprintf("  %s, conc %d: %d errors, first: %v", r.scenario, r.concurrency, r.errors, r.firstErr))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "\nerrors in measured windows:\n%s\n", strings.Join(errs, "\n"))
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

func ratio(x, y float64) string {
	if y == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x/y)
}

func printCPReport(w io.Writer, r *cpReport) {
	if r == nil {
		return
	}
	if len(r.visible) > 0 {
		fmt.Fprintf(w, "\nControl plane: write to visible on two replicas (two gateways in this process, one store each run;\n"+
			"%d key generations, then %d key deletes, through replica A's admin API)\n\n", r.opts.writes, r.opts.writes)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-10s\t%-26s\twrites\tA 2xx p50 ms\tA 2xx p99 ms\tvisible on B p50 ms\tp99 ms\tmax ms\t\n", "store", "write")
		for _, v := range r.visible {
			adm, vis := sortedCopy(v.admin), sortedCopy(v.visible)
			fmt.Fprintf(tw, "%-10s\t%-26s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", v.store, v.write, len(v.visible),
				ms(pctOf(adm, 50)), ms(pctOf(adm, 99)), ms(pctOf(vis, 50)), ms(pctOf(vis, 99)), ms(vis[len(vis)-1]))
		}
		tw.Flush()
		fmt.Fprintf(w, "(A 2xx: the admin request until its 2xx, which A sends once it serves the write itself; visible on B: from\n"+
			" that 2xx until B's first answer showing the write, B polled with back-to-back tools/call; target p99 <= 1 s)\n")
	}
	if len(r.scale) == 2 {
		small, big := r.scale[0], r.scale[1]
		fmt.Fprintf(w, "\nControl plane at scale (%s): %d servers and %d keys in the store against 1 and 1; every server points at one\n"+
			"stateless go-sdk upstream (the demo server); each key may call one tool of one server (mcp_tool_permissions)\n\n",
			r.opts.scaleStore, big.servers, big.keys)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		col := func(s scaleSide) string { return fmt.Sprintf("%d servers, %d keys", s.servers, s.keys) }
		fmt.Fprintf(tw, "%-44s\t%s\t%s\t\n", "", col(small), col(big))
		row := func(name string, f func(scaleSide) string) {
			fmt.Fprintf(tw, "%-44s\t%s\t%s\t\n", name, f(small), f(big))
		}
		row("objects written to the store, s", func(s scaleSide) string { return fmt.Sprintf("%.2f", s.insert.Seconds()) })
		row("start (Open + Start until Envoy ready), ms", func(s scaleSide) string { return ms(s.start) })
		row("then until the key's first call answers, ms", func(s scaleSide) string { return ms(s.firstCall) })
		row("Go heap in use, delta, MiB", func(s scaleSide) string { return mib(s.heap) })
		row("process RSS, delta, MiB", func(s scaleSide) string { return mib(s.rss) })
		row("Envoy heap allocated, MiB", func(s scaleSide) string { return mib(s.envoyHeap) })
		row("tools/call calls (1 session)", func(s scaleSide) string { return strconv.Itoa(s.calls.calls()) })
		row("tools/call p50 ms", func(s scaleSide) string { return ms(s.calls.pct(50)) })
		row("tools/call p99 ms", func(s scaleSide) string { return ms(s.calls.pct(99)) })
		row("key delete: admin 2xx p50 ms", func(s scaleSide) string { return ms(pctOf(sortedCopy(s.delAdmin), 50)) })
		row("key delete: admin 2xx max ms", func(s scaleSide) string { return ms(maxOf(s.delAdmin)) })
		row("key delete: 2xx until 401, max ms", func(s scaleSide) string { return ms(maxOf(s.delVisible)) })
		tw.Flush()
		fmt.Fprintf(w, "(heap and RSS: this process (gateway's Go side, the upstream, the client) after a GC with freed memory returned,\n"+
			" after start and the first call, minus before Open; Envoy is a separate process. tools/call: %v measured after 1s\n"+
			" warm-up, one go-sdk session with the key. key delete: %d deletes, each timed alone on this one gateway)\n",
			r.opts.callWindow, cpDeletes)
	}
	for _, s := range r.skipped {
		fmt.Fprintf(w, "\nskipped: %s\n", s)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// maxOf is the largest of d, 0 for none.
func maxOf(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
