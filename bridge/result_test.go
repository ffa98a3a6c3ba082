package bridge

import (
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestResults(t *testing.T) {
	png := []byte("\x89PNG")  // base64 iVBORw==
	wav := []byte("RIFF")     // base64 UklGRg==
	pdf := []byte("%PDF-1.7") // base64 JVBERi0xLjc=
	bmp := []byte("BM")       // base64 Qk0=
	text := func(s string) mcp.Content { return &mcp.TextContent{Text: s} }
	for _, c := range []struct {
		name                       string
		res                        *mcp.CallToolResult
		chat, responses, anthropic string // JSON of the content/output
		anthropicError             bool
	}{
		{
			name:      "text parts joined with newlines",
			res:       &mcp.CallToolResult{Content: []mcp.Content{text("one"), text("two")}},
			chat:      `"one\ntwo"`,
			responses: `"one\ntwo"`,
			anthropic: `"one\ntwo"`,
		},
		{
			name:      "no content: LiteLLM's text",
			res:       &mcp.CallToolResult{},
			chat:      `"Tool executed successfully"`,
			responses: `"Tool executed successfully"`,
			anthropic: `"Tool executed successfully"`,
		},
		{
			name:      "empty text is no content",
			res:       &mcp.CallToolResult{Content: []mcp.Content{text("")}},
			chat:      `"Tool executed successfully"`,
			responses: `"Tool executed successfully"`,
			anthropic: `"Tool executed successfully"`,
		},
		{
			name:           "error result: prefixed where the format has no flag",
			res:            &mcp.CallToolResult{IsError: true, Content: []mcp.Content{text("disk full")}},
			chat:           `"Error: disk full"`,
			responses:      `"Error: disk full"`,
			anthropic:      `"disk full"`,
			anthropicError: true,
		},
		{
			name:           "error text already saying so is not prefixed twice",
			res:            &mcp.CallToolResult{IsError: true, Content: []mcp.Content{text("Error: denied")}},
			chat:           `"Error: denied"`,
			responses:      `"Error: denied"`,
			anthropic:      `"Error: denied"`,
			anthropicError: true,
		},
		{
			name:           "error without content",
			res:            &mcp.CallToolResult{IsError: true},
			chat:           `"Error: the tool failed without a message"`,
			responses:      `"Error: the tool failed without a message"`,
			anthropic:      `"Error: the tool failed without a message"`,
			anthropicError: true,
		},
		{
			name:      "structured content as JSON when no text holds it",
			res:       &mcp.CallToolResult{Content: []mcp.Content{text("done")}, StructuredContent: map[string]any{"n": 2, "ok": true}},
			chat:      `"done\n{\"n\":2,\"ok\":true}"`,
			responses: `"done\n{\"n\":2,\"ok\":true}"`,
			anthropic: `"done\n{\"n\":2,\"ok\":true}"`,
		},
		{
			name:      "structured content not repeated when a text part holds it",
			res:       &mcp.CallToolResult{Content: []mcp.Content{text(`{"ok": true, "n": 2}`)}, StructuredContent: map[string]any{"n": 2, "ok": true}},
			chat:      `"{\"ok\": true, \"n\": 2}"`,
			responses: `"{\"ok\": true, \"n\": 2}"`,
			anthropic: `"{\"ok\": true, \"n\": 2}"`,
		},
		{
			name:      "structured content alone, any JSON value",
			res:       &mcp.CallToolResult{StructuredContent: []any{1, "a"}},
			chat:      `"[1,\"a\"]"`,
			responses: `"[1,\"a\"]"`,
			anthropic: `"[1,\"a\"]"`,
		},
		{
			name:      "an image: a data part where the format takes one",
			res:       &mcp.CallToolResult{Content: []mcp.Content{text("chart:"), &mcp.ImageContent{MIMEType: "image/png", Data: png}, text("end")}},
			chat:      `"chart:\n[image omitted (image/png, 4 bytes): Chat Completions tool messages carry only text]\nend"`,
			responses: `[{"type":"input_text","text":"chart:"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw=="},{"type":"input_text","text":"end"}]`,
			anthropic: `[{"type":"text","text":"chart:"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}},{"type":"text","text":"end"}]`,
		},
		{
			name:      "an image type no format takes is named",
			res:       &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{MIMEType: "image/bmp", Data: bmp}}},
			chat:      `"[image omitted (image/bmp, 2 bytes): Chat Completions tool messages carry only text]"`,
			responses: `"[image omitted (image/bmp, 2 bytes): Responses function output takes text, PNG/JPEG/WebP/GIF images and PDF files]"`,
			anthropic: `"[image omitted (image/bmp, 2 bytes): Anthropic tool results take text, JPEG/PNG/GIF/WebP images and PDF documents]"`,
		},
		{
			name:      "audio: no format takes it in tool output",
			res:       &mcp.CallToolResult{Content: []mcp.Content{&mcp.AudioContent{MIMEType: "audio/wav", Data: wav}}},
			chat:      `"[audio omitted (audio/wav, 4 bytes): Chat Completions tool messages carry only text]"`,
			responses: `"[audio omitted (audio/wav, 4 bytes): Responses function output takes text, PNG/JPEG/WebP/GIF images and PDF files]"`,
			anthropic: `"[audio omitted (audio/wav, 4 bytes): Anthropic tool results take text, JPEG/PNG/GIF/WebP images and PDF documents]"`,
		},
		{
			name: "embedded resources: text, a PDF and an image blob",
			res: &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///notes.txt", Text: "notes"}},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///docs/report%201.pdf", MIMEType: "application/pdf", Blob: pdf}},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///x.png", MIMEType: "image/PNG; q=1", Blob: png}},
			}},
			chat:      `"notes\n[file omitted (application/pdf, 8 bytes): Chat Completions tool messages carry only text]\n[image omitted (image/png, 4 bytes): Chat Completions tool messages carry only text]"`,
			responses: `[{"type":"input_text","text":"notes"},{"type":"input_file","filename":"report_1.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjc="},{"type":"input_image","image_url":"data:image/png;base64,iVBORw=="}]`,
			anthropic: `[{"type":"text","text":"notes"},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjc="}},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}}]`,
		},
		{
			name:      "a resource link is text",
			res:       &mcp.CallToolResult{Content: []mcp.Content{&mcp.ResourceLink{URI: "file:///a.txt", Name: "a.txt", MIMEType: "text/plain"}}},
			chat:      `"[resource link: file:///a.txt (a.txt; text/plain)]"`,
			responses: `"[resource link: file:///a.txt (a.txt; text/plain)]"`,
			anthropic: `"[resource link: file:///a.txt (a.txt; text/plain)]"`,
		},
		{
			name:           "an error with an image: the text part says Error",
			res:            &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.ImageContent{MIMEType: "image/png", Data: png}}},
			chat:           `"Error: [image omitted (image/png, 4 bytes): Chat Completions tool messages carry only text]"`,
			responses:      `[{"type":"input_text","text":"Error:"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw=="}]`,
			anthropic:      `[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}}]`,
			anthropicError: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			js := func(v any) string {
				data, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				return string(data)
			}
			chat := ChatCompletionsToolCall{ID: "call_1"}.Result(c.res)
			if chat.Role != "tool" || chat.ToolCallID != "call_1" || js(chat.Content) != c.chat {
				t.Errorf("chat completions:\n got %s\nwant %s", js(chat), c.chat)
			}
			resp := ResponsesFunctionCall{CallID: "fc_1"}.Result(c.res)
			if resp.Type != "function_call_output" || resp.CallID != "fc_1" || js(resp.Output) != c.responses {
				t.Errorf("responses:\n got %s\nwant %s", js(resp), c.responses)
			}
			anth := AnthropicToolUse{ID: "toolu_1"}.Result(c.res)
			if anth.Type != "tool_result" || anth.ToolUseID != "toolu_1" || js(anth.Content) != c.anthropic || anth.IsError != c.anthropicError {
				t.Errorf("anthropic:\n got %s\nwant %s (is_error %v)", js(anth), c.anthropic, c.anthropicError)
			}
		})
	}
}

// The wire form of each result message, as the model APIs read it.
func TestResultWireForm(t *testing.T) {
	res := &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "no"}}}
	for _, c := range []struct {
		got  any
		want string
	}{
		{ChatCompletionsToolCall{ID: "call_1"}.Result(res), `{"role":"tool","tool_call_id":"call_1","content":"Error: no"}`},
		{ResponsesFunctionCall{CallID: "fc_1"}.Result(res), `{"type":"function_call_output","call_id":"fc_1","output":"Error: no"}`},
		{AnthropicToolUse{ID: "toolu_1"}.Result(res), `{"type":"tool_result","tool_use_id":"toolu_1","content":"no","is_error":true}`},
		{AnthropicToolUse{ID: "toolu_1"}.Result(&mcp.CallToolResult{}), `{"type":"tool_result","tool_use_id":"toolu_1","content":"Tool executed successfully"}`},
	} {
		data, _ := json.Marshal(c.got)
		if string(data) != c.want {
			t.Errorf("got %s\nwant %s", data, c.want)
		}
	}
}
