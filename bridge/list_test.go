package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// pagedServer lists tools t0…t(n-1) one per page. misbehave, when set,
// may answer a tools/list page (by its cursor) instead of the server.
func pagedServer(n int, misbehave func(ctx context.Context, cursor string) (mcp.Result, error, bool)) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "paged", Version: "1"}, &mcp.ServerOptions{PageSize: 1})
	for i := range n {
		srv.AddTool(&mcp.Tool{Name: fmt.Sprintf("t%d", i), InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return &mcp.CallToolResult{}, nil
			})
	}
	if misbehave != nil {
		srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
			return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
				if method == "tools/list" {
					cursor := ""
					if p, ok := req.GetParams().(*mcp.ListToolsParams); ok && p != nil {
						cursor = p.Cursor
					}
					if res, err, done := misbehave(ctx, cursor); done {
						return res, err
					}
				}
				return next(ctx, method, req)
			}
		})
	}
	return srv
}

func toolNames(ts *Toolset) []string {
	var names []string
	for _, t := range ts.Tools() {
		names = append(names, t.Name)
	}
	return names
}

func TestList(t *testing.T) {
	ctx := context.Background()
	// The server's second page, by its own cursor.
	secondCursor := func() string {
		cs := connect(t, pagedServer(3, nil))
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.NextCursor
	}()
	// A server that never answers the second page until the request ends.
	stall := func(ctx context.Context, cursor string) (mcp.Result, error, bool) {
		if cursor == "" {
			return nil, nil, false
		}
		<-ctx.Done()
		return nil, ctx.Err(), true
	}
	for _, c := range []struct {
		name     string
		server   *mcp.Server
		opts     ListOptions
		want     []string
		complete bool
		warning  string // in the log
		err      string
	}{
		{name: "every page", server: pagedServer(3, nil), want: []string{"t0", "t1", "t2"}, complete: true},
		{
			name: "a repeated cursor stops the walk with what was listed",
			server: pagedServer(3, func(ctx context.Context, cursor string) (mcp.Result, error, bool) {
				if cursor == secondCursor {
					return &mcp.ListToolsResult{Tools: []*mcp.Tool{{Name: "loop", InputSchema: map[string]any{"type": "object"}}}, NextCursor: secondCursor}, nil, true
				}
				return nil, nil, false
			}),
			want: []string{"t0", "loop"}, warning: "the server repeated a cursor",
		},
		{name: "the page cap", server: pagedServer(3, nil), opts: ListOptions{MaxPages: 2}, want: []string{"t0", "t1"}, warning: "more than 2 pages"},
		{name: "the deadline", server: pagedServer(3, stall), opts: ListOptions{Deadline: time.Second}, want: []string{"t0"}, warning: "the 1s listing deadline passed"},
		{name: "require complete: a repeated cursor is an error", server: pagedServer(3, func(ctx context.Context, cursor string) (mcp.Result, error, bool) {
			return &mcp.ListToolsResult{NextCursor: "same"}, nil, true
		}), opts: ListOptions{RequireComplete: true}, err: "tool listing incomplete: the server repeated a cursor (0 tools listed)"},
		{name: "require complete: the deadline is an error", server: pagedServer(3, stall), opts: ListOptions{Deadline: time.Second, RequireComplete: true}, err: "tool listing incomplete: the 1s listing deadline passed (1 tools listed)"},
		{name: "a failing page is an error", server: pagedServer(3, func(ctx context.Context, cursor string) (mcp.Result, error, bool) {
			if cursor != "" {
				return nil, &jsonrpc.Error{Code: -32603, Message: "backend down"}, true
			}
			return nil, nil, false
		}), err: `calling "tools/list": backend down`},
		{name: "a tool listed twice is kept once", server: pagedServer(2, func(ctx context.Context, cursor string) (mcp.Result, error, bool) {
			if cursor == "" {
				return &mcp.ListToolsResult{Tools: []*mcp.Tool{{Name: "a"}, {Name: "b"}, {Name: "a", Description: "again"}}}, nil, true
			}
			return nil, nil, false
		}), want: []string{"a", "b"}, complete: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			c.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			ts, err := List(ctx, connect(t, c.server), &c.opts)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want an error with %q", err, c.err)
				}
				if strings.Contains(c.err, "incomplete") && !errors.Is(err, ErrIncomplete) {
					t.Fatalf("%v does not wrap ErrIncomplete", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := toolNames(ts); !slices.Equal(got, c.want) {
				t.Errorf("listed %v, want %v", got, c.want)
			}
			if ts.Complete() != c.complete {
				t.Errorf("Complete() = %v", ts.Complete())
			}
			if c.warning != "" && (!strings.Contains(logs.String(), c.warning) || !strings.Contains(logs.String(), "level=WARN")) {
				t.Errorf("log %q lacks warning %q", logs.String(), c.warning)
			}
		})
	}

	t.Run("the caller's context ending is an error, not a partial list", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := List(cctx, connect(t, pagedServer(3, stall)), nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	})
}
