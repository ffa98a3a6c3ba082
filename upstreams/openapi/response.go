package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxErrorExcerpt bounds the body excerpt in an HTTP error result.
const maxErrorExcerpt = 2 << 10

// result maps an HTTP response to a tool result:
//   - 4xx/5xx: isError, "HTTP <status>: <body excerpt>";
//   - JSON: the body as text, and as structuredContent (non-objects are
//     wrapped as {"result": value}, since MCP wants an object);
//   - other text: the text;
//   - binary: an embedded resource with the base64 blob;
//   - no body: a line with the status.
func (a *API) result(t *Tool, u *url.URL, resp *http.Response) (*mcp.CallToolResult, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, a.opts.MaxResponseBytes+1))
	if err != nil {
		return errorResult(fmt.Sprintf("%s %s: reading the response failed: %v", t.Method, t.Path, err)), nil
	}
	if int64(len(data)) > a.opts.MaxResponseBytes {
		return errorResult(fmt.Sprintf("%s %s: HTTP %s, response larger than %d bytes", t.Method, t.Path, resp.Status, a.opts.MaxResponseBytes)), nil
	}
	ct := resp.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	mt = strings.ToLower(mt)

	if resp.StatusCode >= 400 {
		return errorResult(fmt.Sprintf("HTTP %s: %s", resp.Status, excerpt(data, mt))), nil
	}
	if resp.StatusCode >= 300 {
		// A redirect the client did not follow: to another host, where
		// the credentials would have gone along.
		return errorResult(fmt.Sprintf("%s %s: HTTP %s, a redirect to another host (not followed)", t.Method, t.Path, resp.Status)), nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("HTTP %s (no content)", resp.Status)}}}, nil
	}
	if isJSON(mt) || (mt == "" && json.Valid(data)) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&v); err == nil {
			res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(data)}}}
			if obj, ok := v.(map[string]any); ok {
				res.StructuredContent = obj
			} else {
				res.StructuredContent = map[string]any{"result": v}
			}
			return res, nil
		}
		// Declared JSON but is not: fall through and treat it as text.
	}
	if isText(mt, params, data) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(data)}}}, nil
	}
	if mt == "" {
		mt = "application/octet-stream"
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
		URI:      redactedURL(u),
		MIMEType: mt,
		Blob:     data,
	}}}}, nil
}

// isText reports whether a body is text: a textual media type whose bytes
// are UTF-8 (or declare another charset), or no media type and UTF-8.
func isText(mt string, params map[string]string, data []byte) bool {
	textual := strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+xml") || mt == "application/xml" ||
		mt == "application/yaml" || mt == "application/x-yaml" || mt == "application/javascript" ||
		mt == "application/x-www-form-urlencoded" || isJSON(mt)
	if textual && params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") {
		return true
	}
	if mt == "" || textual {
		return utf8.Valid(data) && !bytes.ContainsRune(data, 0)
	}
	return false
}

// excerpt is the start of an error body, as text when it is text.
func excerpt(data []byte, mt string) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "(empty body)"
	}
	if !utf8.Valid(data) && !isText(mt, nil, data) {
		return fmt.Sprintf("(%d bytes of %s)", len(data), mt)
	}
	s := strings.TrimSpace(string(data))
	if len(s) > maxErrorExcerpt {
		cut := maxErrorExcerpt
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " …(truncated)"
	}
	return s
}

// redactedURL is u without credentials and query, which may hold keys.
func redactedURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}

func errorResult(msg string) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}
}
