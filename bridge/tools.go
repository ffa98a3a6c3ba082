package bridge

// ChatCompletionsTool is a tool in OpenAI Chat Completions' "tools" list.
type ChatCompletionsTool struct {
	Type     string                  `json:"type"` // "function"
	Function ChatCompletionsFunction `json:"function"`
}

// ChatCompletionsFunction is the function of a ChatCompletionsTool.
type ChatCompletionsFunction struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
	Strict      bool           `json:"strict"`
}

// ResponsesTool is a function tool in the OpenAI Responses API's "tools".
type ResponsesTool struct {
	Type        string         `json:"type"` // "function"
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
	Strict      bool           `json:"strict"`
}

// AnthropicTool is a client tool in Anthropic Messages' "tools".
type AnthropicTool struct {
	Type        string         `json:"type"` // "custom"
	Name        string         `json:"name"`
	Description string         `json:"description"`
	InputSchema map[string]any `json:"input_schema"`
}

// ChatCompletionsTools is the toolset in Chat Completions' format: the
// name (renamed only where OpenAI refuses it), the description or "",
// the input schema as parameters (see docs/bridge.md), strict false.
func (t *Toolset) ChatCompletionsTools() []ChatCompletionsTool {
	out := make([]ChatCompletionsTool, len(t.tools))
	for i, tool := range t.tools {
		out[i] = ChatCompletionsTool{Type: "function", Function: ChatCompletionsFunction{
			Name:        t.openAI.model(tool.Name),
			Description: tool.Description,
			Parameters:  openAIParameters(tool.InputSchema),
		}}
	}
	return out
}

// ResponsesTools is the toolset in the Responses API's format, with the
// same names and parameters as ChatCompletionsTools.
func (t *Toolset) ResponsesTools() []ResponsesTool {
	out := make([]ResponsesTool, len(t.tools))
	for i, tool := range t.tools {
		out[i] = ResponsesTool{
			Type:        "function",
			Name:        t.openAI.model(tool.Name),
			Description: tool.Description,
			Parameters:  openAIParameters(tool.InputSchema),
		}
	}
	return out
}

// AnthropicTools is the toolset in Anthropic Messages' format: the input
// schema sanitised to what Anthropic takes (see docs/bridge.md).
func (t *Toolset) AnthropicTools() []AnthropicTool {
	out := make([]AnthropicTool, len(t.tools))
	for i, tool := range t.tools {
		out[i] = AnthropicTool{
			Type:        "custom",
			Name:        t.anthropic.model(tool.Name),
			Description: tool.Description,
			InputSchema: anthropicInputSchema(tool.InputSchema),
		}
	}
	return out
}
