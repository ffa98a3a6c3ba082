package adapter

import (
	"context"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// backend is where an adapter's tools come from and where its calls go.
type backend interface {
	// start prepares the backend (an eager process, a spec download); it
	// must not block on a slow upstream.
	start(ctx context.Context) error
	// list returns what the backend serves now, asking the upstream.
	list(ctx context.Context) (listing, error)
	// call calls tool name with args for the adapter session session.
	call(ctx context.Context, session, name string, args json.RawMessage, meta mcp.Meta) (*mcp.CallToolResult, error)
	// endSession releases what the backend keeps for an adapter session.
	endSession(session string)
	close() error
}

// listing is what a backend serves: tools, and for an MCP server behind
// the adapter (stdio) also prompts, resources and resource templates.
type listing struct {
	tools     []*mcp.Tool
	prompts   []*mcp.Prompt
	resources []*mcp.Resource
	templates []*mcp.ResourceTemplate
	// completions: the server declares completion/complete.
	completions bool
}

// catalogBackend is a backend that serves prompts and resources too; the
// adapter forwards their requests for the adapter session session.
type catalogBackend interface {
	backend
	getPrompt(ctx context.Context, session string, params *mcp.GetPromptParams) (*mcp.GetPromptResult, error)
	readResource(ctx context.Context, session string, params *mcp.ReadResourceParams) (*mcp.ReadResourceResult, error)
	complete(ctx context.Context, session string, params *mcp.CompleteParams) (*mcp.CompleteResult, error)
}
