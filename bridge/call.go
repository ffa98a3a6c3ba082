package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ChatCompletionsToolCall is one of "tool_calls" in a Chat Completions
// assistant message.
type ChatCompletionsToolCall struct {
	ID       string                      `json:"id"`
	Type     string                      `json:"type"` // "function"
	Function ChatCompletionsFunctionCall `json:"function"`
}

// ChatCompletionsFunctionCall is the function a model calls.
type ChatCompletionsFunctionCall struct {
	Name string `json:"name"`
	// Arguments is what the model sent: normally a JSON string holding
	// a JSON object; an object is taken too (see Arguments).
	Arguments json.RawMessage `json:"arguments"`
}

// ResponsesFunctionCall is a "function_call" output item of the Responses
// API.
type ResponsesFunctionCall struct {
	Type      string          `json:"type"` // "function_call"
	ID        string          `json:"id,omitempty"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// AnthropicToolUse is a "tool_use" content block of an Anthropic
// assistant message.
type AnthropicToolUse struct {
	Type  string          `json:"type"` // "tool_use"
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// Arguments is a model's tool-call arguments as MCP tools/call arguments,
// by LiteLLM's rule: a JSON string is decoded; what is not then a JSON
// object (a parse error, null, an array, a number, nothing) is {}.
// Numbers keep their exact digits; a member given twice keeps its last
// value, as Python's json.loads does.
func Arguments(raw json.RawMessage) map[string]any {
	v, ok := decodeJSON(raw)
	if !ok {
		return map[string]any{}
	}
	if s, isString := v.(string); isString {
		v, ok = decodeJSON([]byte(s))
		if !ok {
			return map[string]any{}
		}
	}
	if m, isObject := v.(map[string]any); isObject {
		return m
	}
	return map[string]any{}
}

func decodeJSON(data []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // trailing data
	}
	return v, true
}

// Call runs tools/call on the toolset's session. A JSON-RPC error the
// server answers with (an unknown tool, arguments a policy denies, a key
// without access) is the model's to see: it comes back as a result with
// IsError set and the text "Error: <message>", as LiteLLM's MCP server
// words such failures. Transport failures and ctx ending are errors.
func (t *Toolset) Call(ctx context.Context, params *mcp.CallToolParams) (*mcp.CallToolResult, error) {
	res, err := t.session.CallTool(ctx, params)
	if err == nil {
		return res, nil
	}
	var rpcErr *jsonrpc.Error
	if ctx.Err() == nil && errors.As(err, &rpcErr) {
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "Error: " + rpcErr.Message}}}, nil
	}
	return nil, err
}

// RunChatCompletions runs a Chat Completions tool call (the tool's MCP
// name, arguments by the rule of Arguments) and returns the "tool" message
// to send back.
func (t *Toolset) RunChatCompletions(ctx context.Context, call ChatCompletionsToolCall) (ChatCompletionsToolMessage, error) {
	res, err := t.Call(ctx, &mcp.CallToolParams{Name: t.openAI.mcp(call.Function.Name), Arguments: Arguments(call.Function.Arguments)})
	if err != nil {
		return ChatCompletionsToolMessage{}, err
	}
	return call.Result(res), nil
}

// RunResponses runs a Responses API function call and returns the
// "function_call_output" item to send back.
func (t *Toolset) RunResponses(ctx context.Context, call ResponsesFunctionCall) (ResponsesFunctionCallOutput, error) {
	res, err := t.Call(ctx, &mcp.CallToolParams{Name: t.openAI.mcp(call.Name), Arguments: Arguments(call.Arguments)})
	if err != nil {
		return ResponsesFunctionCallOutput{}, err
	}
	return call.Result(res), nil
}

// RunAnthropic runs an Anthropic tool_use block and returns the
// "tool_result" block to send back in the next user message.
func (t *Toolset) RunAnthropic(ctx context.Context, use AnthropicToolUse) (AnthropicToolResult, error) {
	res, err := t.Call(ctx, &mcp.CallToolParams{Name: t.anthropic.mcp(use.Name), Arguments: Arguments(use.Input)})
	if err != nil {
		return AnthropicToolResult{}, err
	}
	return use.Result(res), nil
}
