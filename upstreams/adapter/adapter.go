package adapter

import (
	"context"
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
	// What is served, as JSON, by tool name, prompt name, resource URI
	// and URI template.
	tools, prompts, resources, templates map[string][]byte
	listed                               bool            // the backend was listed at least once
	completions                          bool            // the backend declares completions
	seen                                 map[string]bool // sessions being watched
}

func newAdapter(alias, kind string, be backend, timeout time.Duration, log *slog.Logger) *adapter {
	ctx, cancel := context.WithCancel(context.Background())
	a := &adapter{
		alias: alias, kind: kind, log: log, be: be, timeout: timeout,
		ctx: ctx, cancel: cancel, resync: make(chan struct{}, 1),
		tools: map[string][]byte{}, prompts: map[string][]byte{},
		resources: map[string][]byte{}, templates: map[string][]byte{},
		seen: map[string]bool{},
	}
	opts := &mcp.ServerOptions{
		Logger:                    log,
		SupportedProtocolVersions: protocolVersions,
		Capabilities:              &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	}
	if cb, ok := be.(catalogBackend); ok {
		// Declared to clients only when the backend declares it (listFirst).
		opts.CompletionHandler = a.completionHandler(cb)
	}
	a.srv = mcp.NewServer(&mcp.Implementation{Name: "mcpgw-adapter-" + alias, Version: "1"}, opts)
	a.srv.AddReceivingMiddleware(a.listFirst)
	a.handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return a.srv },
		&mcp.StreamableHTTPOptions{Logger: log})
	a.wg.Go(a.syncLoop)
	return a
}

// listMethods are the methods whose answer depends on what an adapter
// serves.
var listMethods = []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list"}

// listFirst makes the first of those wait for the backend's listing: an
// adapter that has never listed answers with an error (so discovery
// retries) rather than with an empty list. A backend with prompts and
// resources is listed before initialize too: the capabilities go-sdk
// answers with say which lists there are.
func (a *adapter) listFirst(next mcp.MethodHandler) mcp.MethodHandler {
	_, catalog := a.be.(catalogBackend)
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		waits := slices.Contains(listMethods, method) || (catalog && method == "initialize")
		if waits && !a.hasListed() {
			if err := a.syncFirst(ctx); err != nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
					Message: fmt.Sprintf("%s server %s: cannot list tools: %v", a.kind, a.alias, err)}
			}
		}
		res, err := next(ctx, method, req)
		if ir, ok := res.(*mcp.InitializeResult); ok && ir.Capabilities != nil && !a.declaresCompletions() {
			ir.Capabilities.Completions = nil
		}
		return res, err
	}
}

func (a *adapter) declaresCompletions() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.completions
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

// sync lists the backend and serves what it lists.
func (a *adapter) sync(ctx context.Context) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	return a.listAndServe(ctx)
}

// syncFirst lists the backend unless a listing finished while this
// caller waited: requests that wait on a cold start share one listing.
func (a *adapter) syncFirst(ctx context.Context) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	if a.hasListed() {
		return nil
	}
	return a.listAndServe(ctx)
}

// listAndServe lists the backend and serves the listing; syncMu is held.
func (a *adapter) listAndServe(ctx context.Context) error {
	l, err := a.be.list(ctx)
	if err != nil {
		return err
	}
	a.update(l)
	return nil
}

// update serves l in place of the previous listing; unchanged items are
// left alone, so sessions hear of real changes only.
func (a *adapter) update(l listing) {
	a.mu.Lock()
	defer a.mu.Unlock()
	skipped := func(kind string) func(string, error) {
		return func(name string, err error) { a.log.Warn("item skipped", "kind", kind, "name", name, "error", err) }
	}
	a.tools, _, _ = mcptool.Mirror[mcp.Tool]{Key: toolName, Check: checkTool, Remove: a.srv.RemoveTools, Skipped: skipped("tool"),
		Add: func(t *mcp.Tool) error { return mcptool.Add(a.srv, t, a.toolHandler(t.Name)) },
	}.Update(a.tools, l.tools)
	if cb, ok := a.be.(catalogBackend); ok {
		a.prompts, _, _ = mcptool.Mirror[mcp.Prompt]{Key: promptName, Check: named(promptName), Remove: a.srv.RemovePrompts, Skipped: skipped("prompt"),
			Add: func(p *mcp.Prompt) error { a.srv.AddPrompt(p, a.promptHandler(cb, p.Name)); return nil },
		}.Update(a.prompts, l.prompts)
		a.resources, _, _ = mcptool.Mirror[mcp.Resource]{Key: resourceURI, Check: named(resourceURI), Remove: a.srv.RemoveResources, Skipped: skipped("resource"),
			Add: func(r *mcp.Resource) error { return mcptool.AddResource(a.srv, r, a.resourceHandler(cb)) },
		}.Update(a.resources, l.resources)
		a.templates, _, _ = mcptool.Mirror[mcp.ResourceTemplate]{Key: templateURI, Check: named(templateURI), Remove: a.srv.RemoveResourceTemplates, Skipped: skipped("resource_template"),
			Add: func(t *mcp.ResourceTemplate) error {
				return mcptool.AddResourceTemplate(a.srv, t, a.resourceHandler(cb))
			},
		}.Update(a.templates, l.templates)
	}
	a.completions = l.completions
	if !a.listed {
		a.log.Info("adapter serving", "tools", len(a.tools), "prompts", len(a.prompts),
			"resources", len(a.resources), "resource_templates", len(a.templates))
	}
	a.listed = true
}

// How items are keyed: tools and prompts by name, resources by URI,
// templates by URI template.
func toolName(t *mcp.Tool) string                { return t.Name }
func promptName(p *mcp.Prompt) string            { return p.Name }
func resourceURI(r *mcp.Resource) string         { return r.URI }
func templateURI(t *mcp.ResourceTemplate) string { return t.URITemplate }

// named refuses an item without a name (URI).
func named[E any](name func(*E) string) func(*E) error {
	return func(it *E) error {
		if name(it) == "" {
			return errors.New("no name")
		}
		return nil
	}
}

// checkTool enforces what go-sdk's AddTool requires: a name and an input
// schema that is a JSON object of type "object".
func checkTool(t *mcp.Tool) error {
	if t.Name == "" {
		return errors.New("no name")
	}
	return mcptool.CheckInputSchema(t.InputSchema)
}

// toolHandler forwards a call to the backend.
func (a *adapter) toolHandler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ctx, session, cancel := a.forward(ctx, req.Session)
		defer cancel()
		res, err := a.be.call(ctx, session, name, req.Params.Arguments, req.Params.Meta)
		if err != nil {
			return nil, a.failure("tool", name, err)
		}
		return res, nil
	}
}

// promptHandler forwards prompts/get to the backend.
func (a *adapter) promptHandler(cb catalogBackend, name string) mcp.PromptHandler {
	return func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		ctx, session, cancel := a.forward(ctx, req.Session)
		defer cancel()
		res, err := cb.getPrompt(ctx, session, req.Params)
		if err != nil {
			return nil, a.failure("prompt", name, err)
		}
		return res, nil
	}
}

// resourceHandler forwards resources/read (of a listed resource or one a
// template matches) to the backend.
func (a *adapter) resourceHandler(cb catalogBackend) mcp.ResourceHandler {
	return func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		ctx, session, cancel := a.forward(ctx, req.Session)
		defer cancel()
		res, err := cb.readResource(ctx, session, req.Params)
		if err != nil {
			return nil, a.failure("resource", req.Params.URI, err)
		}
		return res, nil
	}
}

// completionHandler forwards completion/complete to the backend.
func (a *adapter) completionHandler(cb catalogBackend) func(context.Context, *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	return func(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
		ctx, session, cancel := a.forward(ctx, req.Session)
		defer cancel()
		res, err := cb.complete(ctx, session, req.Params)
		if err != nil {
			what := ""
			if req.Params != nil && req.Params.Ref != nil {
				what = req.Params.Ref.Name + req.Params.Ref.URI
			}
			return nil, a.failure("completion", what, err)
		}
		return res, nil
	}
}

// forward prepares a request for the backend: the adapter session it
// belongs to (watched when the backend keeps state per session) and the
// per-request timeout.
func (a *adapter) forward(ctx context.Context, ss *mcp.ServerSession) (context.Context, string, context.CancelFunc) {
	session := ""
	if ss != nil {
		session = ss.ID()
		if a.watchSessions {
			a.watch(ss)
		}
	}
	if a.timeout > 0 {
		ctx, cancel := context.WithTimeout(ctx, a.timeout)
		return ctx, session, cancel
	}
	return ctx, session, func() {}
}

// failure is what the client gets for a backend failure: the upstream's
// own JSON-RPC errors pass through; anything else becomes an internal
// error that says what happened (e.g. the process is restarting).
func (a *adapter) failure(kind, name string, err error) error {
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) {
		return rpcErr
	}
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && a.timeout > 0 {
		msg = fmt.Sprintf("%s server %s: no answer within %v", a.kind, a.alias, a.timeout)
	}
	a.log.Warn("adapter request failed", kind, name, "error", msg)
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
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

// close ends the adapter's backend, then its sessions. Backend first: a
// session's Close waits for its requests in flight, and one waiting on a
// stdio server that is still starting would hold it for the whole start
// timeout; a closed backend fails them at once.
func (a *adapter) close() error {
	a.cancel()
	err := a.be.close()
	for ss := range a.srv.Sessions() {
		ss.Close()
	}
	a.wg.Wait()
	return err
}
