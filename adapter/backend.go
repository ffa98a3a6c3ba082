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
	// list returns the backend's current tools, asking the upstream.
	list(ctx context.Context) ([]*mcp.Tool, error)
	// call calls tool name with args for the adapter session session.
	call(ctx context.Context, session, name string, args json.RawMessage, meta mcp.Meta) (*mcp.CallToolResult, error)
	// endSession releases what the backend keeps for an adapter session.
	endSession(session string)
	close() error
}
