package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/internal/mcptool"
)

// protocolVersions are the versions adapter endpoints negotiate, as the
// sidecar does (2026-07-28 is not offered yet).
var protocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

// adapter is one server's endpoint: a go-sdk MCP server whose tools
// mirror the backend's.
type adapter struct {
	alias   string
	kind    string
	log     *slog.Logger
	be      backend
	srv     *mcp.Server
	handler http.Handler
	timeout time.Duration // per call; zero: none
	// watchSessions: the backend keeps state per adapter session
	// (per_session stdio), released when the session ends.
	watchSessions bool

	ctx    context.Context // ends at close
	cancel context.CancelFunc
	resync chan struct{}
	wg     sync.WaitGroup

	syncMu sync.Mutex // one listing at a time
	mu     sync.Mutex
	served map[string][]byte // tool name → tool JSON as served
	listed bool              // tools were listed at least once
	seen   map[string]bool   // sessions being watched
}

func newAdapter(alias, kind string, be backend, timeout time.Duration, log *slog.Logger) *adapter {
	ctx, cancel := context.WithCancel(context.Background())
	a := &adapter{
		alias: alias, kind: kind, log: log, be: be, timeout: timeout,
		ctx: ctx, cancel: cancel, resync: make(chan struct{}, 1),
		served: map[string][]byte{}, seen: map[string]bool{},
	}
	a.srv = mcp.NewServer(&mcp.Implementation{Name: "mcpgw-adapter-" + alias, Version: "1"}, &mcp.ServerOptions{
		Logger:                    log,
		SupportedProtocolVersions: protocolVersions,
		Capabilities:              &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	a.srv.AddReceivingMiddleware(a.listFirst)
	a.handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return a.srv },
		&mcp.StreamableHTTPOptions{Logger: log})
	a.wg.Go(a.syncLoop)
	return a
}

// listFirst makes the first tools/list wait for the backend's tools: an
// adapter that has never listed them answers with an error (so discovery
// retries) rather than with an empty list.
func (a *adapter) listFirst(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "tools/list" && !a.hasListed() {
			if err := a.sync(ctx); err != nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
					Message: fmt.Sprintf("%s server %s: cannot list tools: %v", a.kind, a.alias, err)}
			}
		}
		return next(ctx, method, req)
	}
}

func (a *adapter) hasListed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listed
}

// changed asks for the tools to be listed again (the backend announced a
// change or restarted). It never blocks.
func (a *adapter) changed() {
	select {
	case a.resync <- struct{}{}:
	default:
	}
}

func (a *adapter) syncLoop() {
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.resync:
		}
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Second)
		if err := a.sync(ctx); err != nil && a.ctx.Err() == nil {
			a.log.Warn("adapter could not list tools", "error", err)
		}
		cancel()
	}
}

// sync lists the backend's tools and serves them.
func (a *adapter) sync(ctx context.Context) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	tools, err := a.be.list(ctx)
	if err != nil {
		return err
	}
	a.update(tools)
	return nil
}

// update serves tools in place of the previous ones; unchanged tools are
// left alone, so sessions hear of real changes only.
func (a *adapter) update(tools []*mcp.Tool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	next := make(map[string][]byte, len(tools))
	var added []*mcp.Tool
	for _, t := range tools {
		if t == nil {
			continue
		}
		if err := checkTool(t); err != nil {
			a.log.Warn("tool skipped", "tool", t.Name, "error", err)
			continue
		}
		if _, dup := next[t.Name]; dup {
			a.log.Warn("tool skipped", "tool", t.Name, "error", "listed twice")
			continue
		}
		data, err := json.Marshal(t)
		if err != nil {
			a.log.Warn("tool skipped", "tool", t.Name, "error", err)
			continue
		}
		next[t.Name] = data
		if !bytes.Equal(a.served[t.Name], data) {
			added = append(added, t)
		}
	}
	var removed []string
	for name := range a.served {
		if _, ok := next[name]; !ok {
			removed = append(removed, name)
		}
	}
	if len(removed) > 0 {
		slices.Sort(removed)
		a.srv.RemoveTools(removed...)
	}
	for _, t := range added {
		if err := mcptool.Add(a.srv, t, a.toolHandler(t.Name)); err != nil {
			a.log.Warn("tool skipped", "tool", t.Name, "error", err)
			delete(next, t.Name)
			a.srv.RemoveTools(t.Name)
		}
	}
	a.served = next
	if !a.listed {
		a.log.Info("adapter serving tools", "tools", len(next))
	}
	a.listed = true
}

// checkTool enforces what go-sdk's AddTool requires: a name and an input
// schema that is a JSON object of type "object".
func checkTool(t *mcp.Tool) error {
	if t.Name == "" {
		return errors.New("no name")
	}
	return mcptool.CheckInputSchema(t.InputSchema)
}

// toolHandler forwards a call to the backend. Backend failures become
// JSON-RPC internal errors that say what happened (e.g. the process is
// restarting); the upstream's own JSON-RPC errors pass through.
func (a *adapter) toolHandler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		session := ""
		if req.Session != nil {
			session = req.Session.ID()
			if a.watchSessions {
				a.watch(req.Session)
			}
		}
		if a.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, a.timeout)
			defer cancel()
		}
		res, err := a.be.call(ctx, session, name, req.Params.Arguments, req.Params.Meta)
		if err == nil {
			return res, nil
		}
		var rpcErr *jsonrpc.Error
		if errors.As(err, &rpcErr) {
			return nil, rpcErr
		}
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) && a.timeout > 0 {
			msg = fmt.Sprintf("%s server %s: no answer within %v", a.kind, a.alias, a.timeout)
		}
		a.log.Warn("adapter call failed", "tool", name, "error", msg)
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
	}
}

// watch releases the backend's state for ss once ss ends (client DELETE,
// or the gateway closing).
func (a *adapter) watch(ss *mcp.ServerSession) {
	id := ss.ID()
	a.mu.Lock()
	if a.seen[id] {
		a.mu.Unlock()
		return
	}
	a.seen[id] = true
	a.mu.Unlock()
	a.wg.Go(func() {
		done := make(chan struct{})
		go func() { ss.Wait(); close(done) }()
		select {
		case <-done:
		case <-a.ctx.Done():
		}
		a.mu.Lock()
		delete(a.seen, id)
		a.mu.Unlock()
		a.be.endSession(id)
	})
}

// close ends the adapter's sessions and its backend.
func (a *adapter) close() error {
	for ss := range a.srv.Sessions() {
		ss.Close()
	}
	a.cancel()
	err := a.be.close()
	a.wg.Wait()
	return err
}
