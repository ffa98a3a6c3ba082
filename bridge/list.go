package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Defaults of a listing walk, LiteLLM's: the whole walk may take
// max(LITELLM_MCP_CLIENT_TIMEOUT, LITELLM_MCP_TOOL_LISTING_TIMEOUT) = 60 s
// and 1000 pages.
const (
	DefaultListDeadline = 60 * time.Second
	DefaultMaxPages     = 1000
)

// ErrIncomplete is wrapped by List's error when ListOptions.RequireComplete
// is set and the walk stopped before the server's last page.
var ErrIncomplete = errors.New("tool listing incomplete")

// ListOptions tune List. The zero value (or nil) is LiteLLM's behaviour.
type ListOptions struct {
	// Deadline bounds the whole walk over every page (each page's request
	// has its own timeout in the session); DefaultListDeadline when zero.
	Deadline time.Duration
	// MaxPages bounds the pages read; DefaultMaxPages when zero.
	MaxPages int
	// RequireComplete makes a walk that stops early (deadline, page cap,
	// a repeated cursor) an error wrapping ErrIncomplete, instead of a
	// Toolset of the tools listed so far.
	RequireComplete bool
	// Logger gets the warning about a walk that stopped early;
	// slog.Default() when nil.
	Logger *slog.Logger
}

// Toolset is the tools of one MCP session, ready to hand to a model and
// to run the model's tool calls on the session. It does not change after
// List, and is safe for concurrent use.
type Toolset struct {
	session    *mcp.ClientSession
	tools      []*mcp.Tool
	incomplete string
	openAI     nameMap
	anthropic  nameMap
}

// List lists every tool of the session, following nextCursor page by
// page. Like LiteLLM's load_mcp_tools, a walk that meets a repeated
// cursor, the page cap or its deadline stops and keeps the tools listed so
// far (logged as a warning; see Complete), unless opts.RequireComplete.
// A failing page is an error, and so is ctx ending.
func List(ctx context.Context, session *mcp.ClientSession, opts *ListOptions) (*Toolset, error) {
	if opts == nil {
		opts = &ListOptions{}
	}
	deadline, maxPages, logger := opts.Deadline, opts.MaxPages, opts.Logger
	if deadline <= 0 {
		deadline = DefaultListDeadline
	}
	if maxPages <= 0 {
		maxPages = DefaultMaxPages
	}
	if logger == nil {
		logger = slog.Default()
	}
	walk, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()

	var tools []*mcp.Tool
	names := map[string]bool{}
	seen := map[string]bool{}
	cursor, stopped := "", ""
	for page := 0; ; page++ {
		if page == maxPages {
			stopped = fmt.Sprintf("more than %d pages", maxPages)
			break
		}
		res, err := session.ListTools(walk, &mcp.ListToolsParams{Cursor: cursor})
		if err != nil {
			if ctx.Err() == nil && walk.Err() != nil {
				stopped = fmt.Sprintf("the %s listing deadline passed", deadline)
				break
			}
			return nil, err
		}
		for _, t := range res.Tools {
			// A name listed twice would be two functions of one name,
			// which model APIs refuse: the first stays.
			if t != nil && !names[t.Name] {
				names[t.Name] = true
				tools = append(tools, t)
			}
		}
		next := res.NextCursor
		if next == "" {
			break
		}
		if seen[next] {
			stopped = "the server repeated a cursor"
			break
		}
		seen[next] = true
		cursor = next
	}
	if stopped != "" {
		if opts.RequireComplete {
			return nil, fmt.Errorf("%w: %s (%d tools listed)", ErrIncomplete, stopped, len(tools))
		}
		logger.Warn("tools/list stopped early; using the tools listed so far", "reason", stopped, "tools", len(tools))
	}
	return newToolset(session, tools, stopped), nil
}

// NewToolset makes a Toolset of tools already listed (by List, or from a
// cache) that runs calls on session.
func NewToolset(session *mcp.ClientSession, tools []*mcp.Tool) *Toolset {
	return newToolset(session, tools, "")
}

func newToolset(session *mcp.ClientSession, tools []*mcp.Tool, incomplete string) *Toolset {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	return &Toolset{
		session:    session,
		tools:      tools,
		incomplete: incomplete,
		openAI:     newNameMap(names, openAINameMax),
		anthropic:  newNameMap(names, anthropicNameMax),
	}
}

// Tools is the MCP tools, in the server's order.
func (t *Toolset) Tools() []*mcp.Tool { return t.tools }

// Complete reports whether List read every page.
func (t *Toolset) Complete() bool { return t.incomplete == "" }
