// Package demo is the small MCP server shipped with the gateway, so a fresh
// install has an upstream to route to. Its tools are deterministic, which
// also makes it a convenient upstream for tests.
package demo

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Name and Version are the demo server's implementation info.
const (
	Name    = "mcpgw-demo"
	Version = "0.1.0"
)

// NewServer returns the demo MCP server with its tools registered.
func NewServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: Name, Version: Version}, &mcp.ServerOptions{
		Instructions: "Demo server of the mcpgw gateway: echo, add and word_count.",
		// Tools only; no logging capability (the go-sdk default).
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	mcp.AddTool(s, &mcp.Tool{
		Name:        "echo",
		Title:       "Echo",
		Description: "Returns the given text unchanged.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)},
	}, echo)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "add",
		Title:       "Add",
		Description: "Adds two numbers and returns the sum.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)},
	}, add)
	mcp.AddTool(s, &mcp.Tool{
		Name:        "word_count",
		Title:       "Word count",
		Description: "Counts the words, lines and characters (Unicode code points) of a text.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: new(false)},
	}, wordCount)
	return s
}

// EchoInput is the input of the echo tool.
type EchoInput struct {
	Text string `json:"text" jsonschema:"the text to return"`
}

func echo(_ context.Context, _ *mcp.CallToolRequest, in EchoInput) (*mcp.CallToolResult, any, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
}

// AddInput is the input of the add tool.
type AddInput struct {
	A float64 `json:"a" jsonschema:"the first addend"`
	B float64 `json:"b" jsonschema:"the second addend"`
}

// AddOutput is the structured output of the add tool.
type AddOutput struct {
	Sum float64 `json:"sum" jsonschema:"a + b"`
}

func add(_ context.Context, _ *mcp.CallToolRequest, in AddInput) (*mcp.CallToolResult, AddOutput, error) {
	return nil, AddOutput{Sum: in.A + in.B}, nil
}

// WordCountInput is the input of the word_count tool.
type WordCountInput struct {
	Text string `json:"text" jsonschema:"the text to count"`
}

// WordCountOutput is the structured output of the word_count tool.
type WordCountOutput struct {
	Words int `json:"words" jsonschema:"number of whitespace-separated words"`
	Lines int `json:"lines" jsonschema:"number of lines (0 for empty text)"`
	Chars int `json:"chars" jsonschema:"number of Unicode code points"`
}

func wordCount(_ context.Context, _ *mcp.CallToolRequest, in WordCountInput) (*mcp.CallToolResult, WordCountOutput, error) {
	return nil, countWords(in.Text), nil
}

func countWords(text string) WordCountOutput {
	out := WordCountOutput{Words: len(strings.Fields(text)), Chars: utf8.RuneCountInString(text)}
	if text != "" {
		out.Lines = strings.Count(text, "\n") + 1
		if strings.HasSuffix(text, "\n") {
			out.Lines--
		}
	}
	return out
}
