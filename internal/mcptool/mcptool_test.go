package mcptool

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestCheckInputSchema(t *testing.T) {
	for _, tt := range []struct {
		schema any
		ok     bool
	}{
		{map[string]any{"type": "object"}, true},
		{nil, false},
		{map[string]any{"type": "string"}, false},
		{map[string]any{}, false},
		{[]any{1}, false},
	} {
		if err := CheckInputSchema(tt.schema); (err == nil) != tt.ok {
			t.Errorf("CheckInputSchema(%v) = %v", tt.schema, err)
		}
	}
}

func TestAddTurnsPanicsIntoErrors(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "1"}, nil)
	h := func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, nil }
	if err := Add(srv, &mcp.Tool{Name: "bad", InputSchema: map[string]any{"type": "string"}}, h); err == nil {
		t.Fatal("a tool go-sdk rejects was added")
	}
	if err := Add(srv, &mcp.Tool{Name: "good", InputSchema: map[string]any{"type": "object"}}, h); err != nil {
		t.Fatal(err)
	}
}
