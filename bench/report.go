package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

func printReport(w io.Writer, o options, envoyVersion string, results []result) {
	fmt.Fprintf(w, "\nMCP tools/call benchmark at MCP %s: demo echo tool, go-sdk client sessions, all on loopback\n\n", o.protocol)
	fmt.Fprintf(w, "machine:  %s/%s, NumCPU %d, GOMAXPROCS %d, %s, Envoy %s (one worker thread per CPU, Envoy's default)\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), envoyVersion)
	fmt.Fprintf(w, "run:      per row %v measured after %v warm-up; one client session per worker (MCP %s), opened once per scenario\n",
		o.duration, o.warmup, o.protocol)
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
	fmt.Fprintf(tw, "%-24s\tconc\tcalls\terrors\tp50 ms\tp90 ms\tp99 ms\tcalls/s\tupstream inits/1k calls\t\n", "scenario")
	for _, n := range o.concurrency {
		for _, k := range []string{"a", "b", "c"} {
			r, ok := byKey[k][n]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%.0f\t%.2f\t\n", fmt.Sprintf("%-24s", r.scenario), n, r.calls(), r.errors,
				ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), r.throughput(), r.initsPer1000())
		}
	}
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Gateway overhead as ratios (latency: >1 is slower; throughput: <1 is fewer calls/s)\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\tp50 c/b\tp99 c/b\tcalls/s c/b\tp50 c/a\tp99 c/a\tcalls/s c/a\t")
	for _, n := range o.concurrency {
		a, okA := byKey["a"][n]
		b, okB := byKey["b"][n]
		c, okC := byKey["c"][n]
		if !okA || !okB || !okC {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", n,
			ratio(c.pct(50).Seconds(), b.pct(50).Seconds()), ratio(c.pct(99).Seconds(), b.pct(99).Seconds()),
			ratio(c.throughput(), b.throughput()),
			ratio(c.pct(50).Seconds(), a.pct(50).Seconds()), ratio(c.pct(99).Seconds(), a.pct(99).Seconds()),
			ratio(c.throughput(), a.throughput()))
	}
	tw.Flush()

	fmt.Fprintf(w, "\n(c) upstream initialize per 1000 tools/call after warm-up (goal 0):")
	for _, n := range o.concurrency {
		if c, ok := byKey["c"][n]; ok {
			fmt.Fprintf(w, "  conc %d: %.2f (%d in %d calls)", n, c.initsPer1000(), c.initsAfter-c.initsBefore, c.calls())
		}
	}
	fmt.Fprintf(w, "\n(c) upstream initialize during session set-up and warm-up:")
	for _, n := range o.concurrency {
		if c, ok := byKey["c"][n]; ok {
			fmt.Fprintf(w, "  before conc %d: %d", n, c.warmupInits)
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
