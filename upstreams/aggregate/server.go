package aggregate

import (
	"context"
	"fmt"
	"github.com/mcpgw/mcpgw/upstreams/discovery"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpgw/mcpgw/extproc/namespace"
	"github.com/mcpgw/mcpgw/extproc/rpc"
	"github.com/mcpgw/mcpgw/internal/wellknown"
	"github.com/mcpgw/mcpgw/upstreams"
	"github.com/mcpgw/mcpgw/upstreams/adapter"
)

// Server is the adapter sidecar: one go-sdk MCP server, shared by every
// client session, whose tools mirror those of the upstreams.
type Server struct {
	log      *slog.Logger
	set      atomic.Pointer[servers] // replaced whole by Update
	update   sync.Mutex              // one Update at a time
	pageSize int
	mcp      *mcp.Server
	cat      *catalog
	shown    toolLists // callers' filtered tool lists (visibleToolsFor)
	// goSDKLists leaves every tools/list to go-sdk (tests compare
	// serveToolsPage's answers with go-sdk's).
	goSDKLists bool
	toolsPages atomic.Int64 // tools/list pages serveToolsPage answered
	// serverInfo is the sidecar's Implementation as go-sdk writes it
	// into the _meta of a 2026-07-28 result.
	serverInfo []byte
	lists      *listCache
	disc       *discovery.Discovery
	handler    http.Handler
	notify     *notifier
	sse        *sseBridge
	adapters   *adapter.Set
	authz      Authorizer
	done       chan struct{}
	once       sync.Once
}

// New builds a sidecar; Start begins upstream discovery.
func New(opts Options) (*Server, error) {
	opts.applyDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	srv := mcp.NewServer(&mcp.Implementation{Name: Name, Version: opts.Version}, &mcp.ServerOptions{
		Instructions: instructions(opts.Registry, opts.Upstreams),
		Logger:       log,
		// 2026-07-28 (stateless, server/discover), the three versions of
		// the session era, and 2024-11-05 for legacy HTTP+SSE clients.
		SupportedProtocolVersions: rpc.ProtocolVersions(),
		// Advertise tools (with list_changed) even while no upstream has
		// answered yet; listsMiddleware replaces these with the merged
		// capabilities of the request's scope (capabilities.go).
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	s := &Server{log: log, mcp: srv, pageSize: opts.PageSize,
		notify: newNotifier(), done: make(chan struct{}), authz: opts.Authorizer,
		serverInfo: encodeServerInfo(&mcp.Implementation{Name: Name, Version: opts.Version})}
	s.set.Store(newServers(opts.Registry, opts.Upstreams))
	srv.AddReceivingMiddleware(s.scopeMiddleware, s.listsMiddleware)
	s.lists = newListCache(s.reg, log)
	s.cat = newCatalog(srv, s.reg, log, func(ctx context.Context, alias, name string, args any) (*mcp.CallToolResult, error) {
		return s.disc.CallTool(ctx, alias, name, args)
	})
	disc, err := discovery.New(opts.Upstreams, discovery.Options{
		Timeout:        opts.DiscoveryTimeout,
		KeepAlive:      opts.KeepAlive,
		OnChange:       s.cat.update,
		OnListing:      s.lists.update,
		PollInterval:   opts.ListTTL,
		Logger:         log,
		Implementation: &mcp.Implementation{Name: Name, Version: opts.Version},
	})
	if err != nil {
		return nil, fmt.Errorf("sidecar: %w", err)
	}
	s.disc = disc
	s.cat.changed = s.notify.publish
	s.lists.changed = s.notify.publish
	stateless := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		// No per-session state: any replica serves any request (see
		// sessions.go for how client sessions work instead).
		Stateless: true,
		// Envoy forwards the client's Host header unchanged, and the
		// sidecar listens on loopback, so go-sdk's DNS-rebinding check
		// would answer every proxied request with 403. Host and Origin
		// are the gateway's (Envoy's) to check, in front of this handler.
		DisableLocalhostProtection: true,
		Logger:                     log,
	})
	s.adapters = opts.Adapters
	s.sse = newSSEBridge(opts.GatewayURL, s.done)
	s.handler = withHealth(s.done, withDirect(opts.Direct, opts.DirectToken, withREST(newRESTFacade(s, opts.GatewayURL), withAdapters(s.adapters, withLegacySSE(s.sse, withPath(&sessionLayer{sealer: opts.Sessions, owner: s.ownerOf, next: stateless, toolsPage: s.serveToolsPage, notify: s.notify,
		done: s.done, revoked: map[string]time.Time{}}))))))
	return s, nil
}

// withHealth answers Envoy's active health check of the sidecar (GET
// wellknown.SidecarHealthPath): 200 while it serves, 503 once Close has
// begun, so Envoy stops counting it healthy before it goes.
func withHealth(done <-chan struct{}, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wellknown.SidecarHealthPath || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case <-done:
			http.Error(w, "stopping", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "ok\n")
		}
	})
}

// Handler serves MCP Streamable HTTP on every path (Envoy sends /mcp here).
// Sessions are stateful: each initialize gets a new Mcp-Session-Id.
func (s *Server) Handler() http.Handler { return s.handler }

// DiscoveryFailures is how many times discovery found each upstream
// unusable, by alias (discovery.Discovery.Failures), for metrics.
func (s *Server) DiscoveryFailures() map[string]uint64 { return s.disc.Failures() }

// Health is discovery's view of every upstream (see discovery.Health).
func (s *Server) Health() map[string]discovery.Health { return s.disc.Health() }

// Start begins discovering upstream tools. It returns once every upstream
// has answered or failed, or after the discovery timeout: slow upstreams
// are picked up later, and clients are told by tools/list_changed.
func (s *Server) Start(ctx context.Context) error {
	if s.adapters != nil {
		if err := s.adapters.Start(ctx); err != nil {
			return fmt.Errorf("sidecar: start adapters: %w", err)
		}
	}
	if err := s.disc.Start(ctx); err != nil {
		return fmt.Errorf("sidecar: start discovery: %w", err)
	}
	return nil
}

// Close stops discovery and ends every client session, which also ends
// their open GET streams; call it before (or from) http.Server.Shutdown,
// which otherwise waits for those streams.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.done) })
	err := s.disc.Close()
	for ss := range s.mcp.Sessions() {
		ss.Close()
	}
	if s.adapters != nil {
		s.adapters.Close()
	}
	return err
}

// instructions tell clients how tool names are formed and what each
// upstream is for, when the config describes them.
func instructions(names *namespace.Registry, ups []*upstreams.Upstream) string {
	var b strings.Builder
	for _, up := range ups {
		if up.Description != "" {
			fmt.Fprintf(&b, "\n- %s: %s", up.Alias, up.Description)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("This gateway aggregates several MCP servers. Each tool name starts with its server's name and %q. Servers:%s",
		names.Separator(), b.String())
}

var _ io.Closer = (*Server)(nil)
