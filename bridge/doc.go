// Package bridge hands the tools of an MCP session to a language model and
// runs the model's tool calls on the session: LiteLLM's SDK bridge
// (experimental_mcp_client: load_mcp_tools, call_openai_tool) for Go.
//
// [List] reads every tool of a go-sdk [mcp.ClientSession] into a [Toolset],
// which gives them in OpenAI Chat Completions, OpenAI Responses and
// Anthropic Messages tool formats, runs a model's tool call in any of the
// three as an MCP tools/call, and turns the result into the message that
// format expects back:
//
//	ts, err := bridge.List(ctx, session, nil)
//	// ... send ts.ChatCompletionsTools() with the messages; for each of the
//	// assistant message's tool_calls:
//	msg, err := ts.RunChatCompletions(ctx, call)
//	// ... append msg and ask the model again.
//
// The conversions follow LiteLLM 1.108.7 (cursor walking, schema defaults,
// argument decoding); where they differ on purpose, because a format cannot
// express something or LiteLLM's result would be wrong, docs/bridge.md says
// so. The package depends on go-sdk and the standard library only.
package bridge
