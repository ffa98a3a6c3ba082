package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestPaginationWithADeadUpstream: 1,200 tools come through Envoy in
// pages of the gateway's own cursor (500 a page), while an upstream that
// is down contributes nothing and breaks nothing.
func TestPaginationWithADeadUpstream(t *testing.T) {
	names := make([]string, 1200)
	for i := range names {
		names[i] = fmt.Sprintf("t%04d", i)
	}
	big := startUpstream(t, "big", false, names...)
	gw := gatewayUnder(t, configFor(map[string]string{
		"big":  big.URL,
		"dead": fmt.Sprintf("http://127.0.0.1:%d/mcp", mustFreePort(t)),
	}))
	cs := connect(t, gw.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	waitFor(t, "the big upstream's first page", func() bool {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		return len(res.Tools) == 500 && res.NextCursor != ""
	})
	var got []string
	pages := 0
	cursor := ""
	for {
		res, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		for _, tool := range res.Tools {
			got = append(got, tool.Name)
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	if pages != 3 || len(got) != 1200 || got[0] != "big-t0000" || got[1199] != "big-t1199" {
		t.Fatalf("%d pages, %d tools (%v … %v)", pages, len(got), got[0], got[len(got)-1])
	}
	if _, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: "not-a-cursor"}); err == nil {
		t.Fatal("a forged cursor was accepted")
	}
	callEcho(ctx, t, cs, "big-t0777", "paged")
}
