package ui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The Try-it page calls a tool as an MCP client does: initialize,
// notifications/initialized, tools/call, then DELETE of the session, over
// Streamable HTTP to the gateway's own /mcp (through Envoy), with the
// key in the gateway's key header. Keys, policy, allowed_params,
// credentials and error messages are then exactly a client's.

// tryProtocolVersion is the protocol version the Try-it client asks for.
const tryProtocolVersion = "2025-11-25"

// endTimeout bounds the DELETE that ends a Try-it session.
const endTimeout = 5 * time.Second

// maxRPCBody bounds an answer read from the gateway.
const maxRPCBody = 4 << 20

// callOutcome is what a client got.
type callOutcome struct {
	// Step is the request the outcome is of: "initialize" when the
	// gateway refused the session (a bad key is refused there), else
	// "tools/call".
	Step   string
	Status int // the HTTP status
	// Err is the JSON-RPC error, when the answer was one.
	Err *rpcError
	// Result is the tools/call result, when it was one.
	Result json.RawMessage
	// Body is an answer that was no JSON-RPC response (its start).
	Body string
	// Failed says why no answer came (the gateway unreachable, a timeout).
	Failed string
}

type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

// mcpClient sends the Try-it page's requests.
type mcpClient struct {
	endpoint string // the gateway's /mcp
	client   *http.Client
	header   string // the key header
	key      string
	session  string
}

func (c *mcpClient) post(ctx context.Context, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c.headers(req)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	return c.client.Do(req)
}

func (c *mcpClient) headers(req *http.Request) {
	req.Header.Set(c.header, "Bearer "+c.key)
	req.Header.Set("Mcp-Protocol-Version", tryProtocolVersion)
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
}

// request sends one JSON-RPC request and reads its response.
func (c *mcpClient) request(ctx context.Context, step string, id int, method string, params any) (callOutcome, *rpcMessage, http.Header) {
	out := callOutcome{Step: step}
	resp, err := c.post(ctx, map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		out.Failed = "the gateway could not be reached: " + reachError(ctx, err)
		return out, nil, nil
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	msg, body, err := readRPC(resp, id)
	if err != nil {
		out.Body = body
		if out.Body == "" {
			out.Body = err.Error()
		}
		return out, nil, resp.Header
	}
	out.Err = msg.Error
	out.Result = msg.Result
	return out, msg, resp.Header
}

// reachError says why a request got no answer, without the URL (the
// gateway's internal address is no business of the page).
func reachError(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "no answer in time"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + redactURLs(oe.Err.Error())
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return redactURLs(err.Error())
}

// callTool runs name with args as a client with key would.
func callTool(ctx context.Context, endpoint string, hc *http.Client, header, key, name string, args json.RawMessage) callOutcome {
	c := &mcpClient{endpoint: endpoint, client: hc, header: header, key: key}
	out, msg, hdr := c.request(ctx, "initialize", 1, "initialize", map[string]any{
		"protocolVersion": tryProtocolVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcpgw-ui-try-it", "version": "1"},
	})
	if msg == nil || msg.Error != nil || out.Status != http.StatusOK {
		return out
	}
	c.session = hdr.Get("Mcp-Session-Id")
	if c.session != "" {
		defer func() {
			// Even when the call ran out of time; bounded on its own.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
			defer cancel()
			c.end(ctx)
		}()
	}
	if resp, err := c.post(ctx, map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"}); err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRPCBody))
		resp.Body.Close()
	}
	out, _, _ = c.request(ctx, "tools/call", 2, "tools/call", map[string]any{"name": name, "arguments": args})
	return out
}

// end deletes the session, as a client that is done does.
func (c *mcpClient) end(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.endpoint, nil)
	if err != nil {
		return
	}
	c.headers(req)
	if resp, err := c.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// readRPC reads the response with id from a JSON body or an event
// stream (notifications before it are skipped). An error the gateway
// answers before reading the request carries a null id. body is the
// answer's start when it was none.
func readRPC(resp *http.Response, id int) (msg *rpcMessage, body string, err error) {
	want := fmt.Sprint(id)
	parse := func(data []byte) *rpcMessage {
		var m rpcMessage
		if json.Unmarshal(data, &m) != nil || (m.Result == nil && m.Error == nil) {
			return nil
		}
		if got := string(m.ID); got != want && !(m.Error != nil && (got == "" || got == "null")) {
			return nil
		}
		return &m
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "text/event-stream" {
		sc := bufio.NewScanner(io.LimitReader(resp.Body, maxRPCBody))
		sc.Buffer(make([]byte, 64<<10), maxRPCBody)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
				if m := parse([]byte(strings.TrimSpace(data))); m != nil {
					return m, "", nil
				}
			}
		}
		return nil, "", errors.New("the event stream ended without a response")
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRPCBody))
	if err != nil {
		return nil, "", err
	}
	if m := parse(data); m != nil {
		return m, "", nil
	}
	const shown = 2000
	text := strings.TrimSpace(string(data))
	if len(text) > shown {
		text = text[:shown] + "…"
	}
	return nil, text, errors.New("no JSON-RPC response")
}

// urlPattern finds URLs in error text: a URL may hold a secret in its
// query or user info, and error texts go on a page.
var urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"']+`)

func redactURLs(s string) string { return urlPattern.ReplaceAllString(s, "<url>") }
