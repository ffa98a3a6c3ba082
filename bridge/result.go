package bridge

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ChatCompletionsToolMessage is the "tool" message that answers one tool
// call in Chat Completions. Its content is text only: the format has no
// other parts in tool messages.
type ChatCompletionsToolMessage struct {
	Role       string `json:"role"` // "tool"
	ToolCallID string `json:"tool_call_id"`
	Content    string `json:"content"`
}

// ResponsesFunctionCallOutput is the "function_call_output" input item
// that answers one function call in the Responses API.
type ResponsesFunctionCallOutput struct {
	Type   string `json:"type"` // "function_call_output"
	CallID string `json:"call_id"`
	// Output is a string, or a []ResponsesContent when the result holds
	// images or PDF files.
	Output any `json:"output"`
}

// ResponsesContent is one part of a function call's output: "input_text",
// "input_image" (a data URL) or "input_file" (a data URL and a name).
type ResponsesContent struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	Filename string `json:"filename,omitempty"`
	FileData string `json:"file_data,omitempty"`
}

// AnthropicToolResult is the "tool_result" content block that answers one
// tool_use block in Anthropic Messages (sent in the next user message).
type AnthropicToolResult struct {
	Type      string `json:"type"` // "tool_result"
	ToolUseID string `json:"tool_use_id"`
	// Content is a string, or an []AnthropicContent when the result holds
	// images or PDF documents.
	Content any  `json:"content"`
	IsError bool `json:"is_error,omitempty"`
}

// AnthropicContent is one block of a tool result: "text", "image" or
// "document".
type AnthropicContent struct {
	Type   string           `json:"type"`
	Text   string           `json:"text,omitempty"`
	Source *AnthropicSource `json:"source,omitempty"`
}

// AnthropicSource is the base64 data of an image or document block.
type AnthropicSource struct {
	Type      string `json:"type"` // "base64"
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
}

// emptyResult is what a result with no content says (LiteLLM's text).
const emptyResult = "Tool executed successfully"

// emptyError is what an error result with no content says.
const emptyError = "Error: the tool failed without a message"

type partKind int

const (
	textPart partKind = iota
	imagePart
	audioPart
	filePart // an embedded resource's blob
)

// part is one piece of a tool result, before a format renders it.
type part struct {
	kind partKind
	text string // textPart
	mime string // media type, parameters dropped, lower case
	data []byte
	name string // filePart: a file name from the resource URI
}

// resultParts is a tool result's content in order, then its structured
// content as JSON text unless a text part already holds the same JSON
// value (servers are asked to send both).
func resultParts(res *mcp.CallToolResult) []part {
	if res == nil {
		return nil
	}
	var parts []part
	for _, c := range res.Content {
		switch c := c.(type) {
		case *mcp.TextContent:
			parts = append(parts, part{kind: textPart, text: c.Text})
		case *mcp.ImageContent:
			parts = append(parts, part{kind: imagePart, mime: mediaType(c.MIMEType), data: c.Data})
		case *mcp.AudioContent:
			parts = append(parts, part{kind: audioPart, mime: mediaType(c.MIMEType), data: c.Data})
		case *mcp.ResourceLink:
			parts = append(parts, part{kind: textPart, text: resourceLinkText(c)})
		case *mcp.EmbeddedResource:
			parts = append(parts, embeddedPart(c.Resource))
		default:
			data, _ := json.Marshal(c)
			parts = append(parts, part{kind: textPart, text: string(data)})
		}
	}
	if res.StructuredContent != nil {
		data, err := json.Marshal(res.StructuredContent)
		if err == nil && !slices.ContainsFunc(parts, func(p part) bool { return p.kind == textPart && sameJSON(p.text, data) }) {
			parts = append(parts, part{kind: textPart, text: string(data)})
		}
	}
	return parts
}

func sameJSON(text string, data []byte) bool {
	var a, b any
	if json.Unmarshal([]byte(text), &a) != nil || json.Unmarshal(data, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

func mediaType(s string) string {
	t, _, err := mime.ParseMediaType(s)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(s))
	}
	return t
}

func resourceLinkText(l *mcp.ResourceLink) string {
	var details []string
	for _, d := range []string{l.Name, l.Title, l.MIMEType, l.Description} {
		if d != "" {
			details = append(details, d)
		}
	}
	if len(details) == 0 {
		return fmt.Sprintf("[resource link: %s]", l.URI)
	}
	return fmt.Sprintf("[resource link: %s (%s)]", l.URI, strings.Join(details, "; "))
}

func embeddedPart(r *mcp.ResourceContents) part {
	switch {
	case r == nil:
		return part{kind: textPart, text: "[embedded resource without contents]"}
	case r.Blob == nil:
		return part{kind: textPart, text: r.Text}
	}
	m := mediaType(r.MIMEType)
	if strings.HasPrefix(m, "image/") {
		return part{kind: imagePart, mime: m, data: r.Blob}
	}
	if strings.HasPrefix(m, "audio/") {
		return part{kind: audioPart, mime: m, data: r.Blob}
	}
	return part{kind: filePart, mime: m, data: r.Blob, name: fileName(r.URI)}
}

// fileName is the last path segment of a URI, in a conservative
// alphabet, or "document".
func fileName(uri string) string {
	u, err := url.Parse(uri)
	name := ""
	if err == nil {
		name = path.Base(u.Path)
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
	if strings.Trim(name, "._") == "" {
		return "document"
	}
	return name
}

// omitted stands in for a part a format cannot carry.
func omitted(p part, why string) string {
	kind := map[partKind]string{imagePart: "image", audioPart: "audio", filePart: "file"}[p.kind]
	m := p.mime
	if m == "" {
		m = "no media type"
	}
	return fmt.Sprintf("[%s omitted (%s, %d bytes): %s]", kind, m, len(p.data), why)
}

// Media types each format takes as image and document data.
var (
	openAIImageTypes    = []string{"image/png", "image/jpeg", "image/webp", "image/gif"}
	anthropicImageTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}
	documentTypes       = []string{"application/pdf"}
)

// withErrorPrefix marks an error result in a format without an error
// flag: its text starts with "Error" (LiteLLM's "Error: ..." texts
// already do).
func withErrorPrefix(text string) string {
	if strings.HasPrefix(text, "Error") {
		return text
	}
	return "Error: " + text
}

// Result is the "tool" message for this call's result. Text parts are
// joined with newlines; images, audio and files, which a Chat Completions
// tool message cannot carry, are named in their place; an error result's
// text starts with "Error".
func (c ChatCompletionsToolCall) Result(res *mcp.CallToolResult) ChatCompletionsToolMessage {
	const why = "Chat Completions tool messages carry only text"
	var texts []string
	for _, p := range resultParts(res) {
		if p.kind == textPart {
			texts = append(texts, p.text)
		} else {
			texts = append(texts, omitted(p, why))
		}
	}
	return ChatCompletionsToolMessage{Role: "tool", ToolCallID: c.ID, Content: resultText(texts, res, true)}
}

// resultText joins texts; an empty result says so; errorPrefix marks an
// error result.
func resultText(texts []string, res *mcp.CallToolResult, errorPrefix bool) string {
	isError := res != nil && res.IsError
	text := strings.Join(texts, "\n")
	switch {
	case text == "" && isError:
		return emptyError
	case text == "":
		return emptyResult
	case isError && errorPrefix:
		return withErrorPrefix(text)
	}
	return text
}

// Result is the "function_call_output" item for this call's result: a
// string when the result is text only, otherwise input_text parts
// (adjacent texts joined with newlines) with PNG, JPEG, WebP and GIF
// images as input_image and PDF files as input_file, in order. Audio and
// other files are named in their place. An error result's text starts
// with "Error".
func (c ResponsesFunctionCall) Result(res *mcp.CallToolResult) ResponsesFunctionCallOutput {
	const why = "Responses function output takes text, PNG/JPEG/WebP/GIF images and PDF files"
	out := ResponsesFunctionCallOutput{Type: "function_call_output", CallID: c.CallID}
	var items []ResponsesContent
	var texts []string
	flush := func() {
		if len(texts) > 0 {
			items = append(items, ResponsesContent{Type: "input_text", Text: strings.Join(texts, "\n")})
			texts = nil
		}
	}
	rich := false
	for _, p := range resultParts(res) {
		switch {
		case p.kind == textPart:
			texts = append(texts, p.text)
		case p.kind == imagePart && slices.Contains(openAIImageTypes, p.mime):
			flush()
			rich = true
			items = append(items, ResponsesContent{Type: "input_image", ImageURL: dataURL(p)})
		case p.kind == filePart && slices.Contains(documentTypes, p.mime):
			flush()
			rich = true
			items = append(items, ResponsesContent{Type: "input_file", Filename: p.name, FileData: dataURL(p)})
		default:
			texts = append(texts, omitted(p, why))
		}
	}
	if !rich {
		out.Output = resultText(texts, res, true)
		return out
	}
	flush()
	items = slices.DeleteFunc(items, func(it ResponsesContent) bool { return it.Type == "input_text" && it.Text == "" })
	if res.IsError {
		if len(items) > 0 && items[0].Type == "input_text" {
			items[0].Text = withErrorPrefix(items[0].Text)
		} else {
			items = append([]ResponsesContent{{Type: "input_text", Text: "Error:"}}, items...)
		}
	}
	out.Output = items
	return out
}

// Result is the "tool_result" block for this tool_use's result: is_error
// as the result says, a string when the result is text only, otherwise
// text blocks (adjacent texts joined with newlines) with JPEG, PNG, GIF
// and WebP images as image blocks and PDF files as document blocks, in
// order. Audio and other files are named in their place.
func (u AnthropicToolUse) Result(res *mcp.CallToolResult) AnthropicToolResult {
	const why = "Anthropic tool results take text, JPEG/PNG/GIF/WebP images and PDF documents"
	out := AnthropicToolResult{Type: "tool_result", ToolUseID: u.ID, IsError: res != nil && res.IsError}
	var blocks []AnthropicContent
	var texts []string
	flush := func() {
		if len(texts) > 0 {
			if t := strings.Join(texts, "\n"); t != "" {
				blocks = append(blocks, AnthropicContent{Type: "text", Text: t})
			}
			texts = nil
		}
	}
	rich := false
	for _, p := range resultParts(res) {
		switch {
		case p.kind == textPart:
			texts = append(texts, p.text)
		case p.kind == imagePart && slices.Contains(anthropicImageTypes, p.mime):
			flush()
			rich = true
			blocks = append(blocks, AnthropicContent{Type: "image", Source: base64Source(p)})
		case p.kind == filePart && slices.Contains(documentTypes, p.mime):
			flush()
			rich = true
			blocks = append(blocks, AnthropicContent{Type: "document", Source: base64Source(p)})
		default:
			texts = append(texts, omitted(p, why))
		}
	}
	if !rich {
		out.Content = resultText(texts, res, false)
		return out
	}
	flush()
	out.Content = blocks
	return out
}

func dataURL(p part) string {
	return "data:" + p.mime + ";base64," + base64.StdEncoding.EncodeToString(p.data)
}

func base64Source(p part) *AnthropicSource {
	return &AnthropicSource{Type: "base64", MediaType: p.mime, Data: base64.StdEncoding.EncodeToString(p.data)}
}
